package metrics

import (
	"bytes"
	"database/sql/driver"
	"fmt"
	"math"
	"strconv"
)

// Value is a metric that may not have been measured. Its zero value is absent,
// so a summary built field by field (an import, a test) leaves out what it does
// not set instead of claiming 0 (DESIGN 11). Absent values are omitted from JSON
// (tag them omitzero), stored as NULL, and printed as "–".
type Value struct {
	v  float64
	ok bool
}

// Of is a measured value. NaN and ±Inf are not measurements: they are absent.
func Of(v float64) Value {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Value{}
	}
	return Value{v: v, ok: true}
}

// Get returns the value and whether it was measured.
func (x Value) Get() (float64, bool) { return x.v, x.ok }

// Or returns the value, or def when it is absent.
func (x Value) Or(def float64) float64 {
	if !x.ok {
		return def
	}
	return x.v
}

// Equal reports whether two values are both absent, or both present and
// equal (go-cmp uses it).
func (x Value) Equal(y Value) bool { return x == y }

// OK reports whether the value was measured.
func (x Value) OK() bool { return x.ok }

// IsZero reports absence, for encoding/json's omitzero.
func (x Value) IsZero() bool { return !x.ok }

// String prints the value compactly, or "–" when absent.
func (x Value) String() string {
	if !x.ok {
		return "–"
	}
	return strconv.FormatFloat(x.v, 'g', -1, 64)
}

// Format prints the value with the verbs and flags of a float64 (%.1f, %g,
// %8.2f ...), or "–" in the same width when it is absent.
func (x Value) Format(f fmt.State, verb rune) {
	w, _ := f.Width()
	switch {
	case !x.ok:
		fmt.Fprintf(f, "%*s", w, "–")
	case verb == 's' || verb == 'v':
		fmt.Fprintf(f, "%*s", w, x.String())
	default:
		fmt.Fprintf(f, fmt.FormatString(f, verb), x.v)
	}
}

// MarshalJSON writes the number, or null when absent (fields tagged omitzero
// are left out instead).
func (x Value) MarshalJSON() ([]byte, error) {
	if !x.ok {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, x.v, 'g', -1, 64), nil
}

// UnmarshalJSON reads a number, or null as absent.
func (x *Value) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*x = Value{}
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("metric value %s: want a number or null", b)
	}
	*x = Of(v)
	return nil
}

// Value stores an absent value as NULL.
func (x Value) Value() (driver.Value, error) {
	if !x.ok {
		return nil, nil
	}
	return x.v, nil
}

// Scan reads a nullable number column.
func (x *Value) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*x = Value{}
	case float64:
		*x = Of(v)
	case float32:
		*x = Of(float64(v))
	case int64:
		*x = Of(float64(v))
	default:
		return fmt.Errorf("metrics: cannot scan %T into a value", src)
	}
	return nil
}

// Num prints a metric compactly, as reports and rankings show them: no
// decimals from 100, two from 1, else three significant digits.
func Num(v float64) string {
	switch {
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// Num prints the value as Num does, or "–" when it is absent.
func (x Value) Num() string {
	if !x.ok {
		return "–"
	}
	return Num(x.v)
}
