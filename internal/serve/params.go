package serve

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
)

// maxParam bounds one parameter's value: no name in a catalog is this long.
const maxParam = 256

// badRequest is an error that the client caused; its message says what to fix.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

func badf(format string, a ...any) error { return badRequest{fmt.Sprintf(format, a...)} }

// params are a request's query parameters, checked against the names an
// endpoint takes: an unknown name or a repeated one is an error.
type params struct {
	v url.Values
}

func parseParams(raw string, allowed ...string) (params, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return params{}, badf("the query string is malformed: %v", err)
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range v {
			if !yield(k) {
				return
			}
		}
	}) {
		if !slices.Contains(allowed, k) {
			if len(allowed) == 0 {
				return params{}, badf("unknown parameter %q: this endpoint takes none", k)
			}
			return params{}, badf("unknown parameter %q: this endpoint takes %s", k, strings.Join(allowed, ", "))
		}
		if len(v[k]) > 1 {
			return params{}, badf("parameter %q is given %d times: give it once", k, len(v[k]))
		}
		if s := v[k][0]; len(s) > maxParam || !utf8.ValidString(s) {
			return params{}, badf("parameter %q: want valid UTF-8 of at most %d bytes", k, maxParam)
		}
	}
	return params{v}, nil
}

func (p params) str(k string) string { return p.v.Get(k) }

func (p params) has(k string) bool { return p.v.Has(k) }

// float reads a positive finite number, or def when absent.
func (p params) float(k string, def float64) (float64, error) {
	s := p.v.Get(k)
	if s == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || f > 1e12 {
		return 0, badf("parameter %s=%q: want a positive number", k, s)
	}
	return f, nil
}

// intIn reads an integer in [lo, hi], or def when absent.
func (p params) intIn(k string, def, lo, hi int) (int, error) {
	s := p.v.Get(k)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, badf("parameter %s=%q: want an integer from %d to %d", k, s, lo, hi)
	}
	return n, nil
}

func (p params) boolean(k string) (bool, error) {
	switch s := p.v.Get(k); s {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	default:
		return false, badf("parameter %s=%q: want true or false", k, s)
	}
}

// filterParams are the result filters `llmsweep results` has.
var filterParams = []string{"campaign", "run", "model", "hardware", "framework", "quantization", "workload", "provenance"}

// filter reads the result filters; values go to the store as bound
// parameters, never into SQL text.
func (p params) filter() (store.Filter, error) {
	f := store.Filter{Campaign: p.str("campaign"), RunID: p.str("run"), Model: p.str("model"), Hardware: p.str("hardware"),
		Framework: p.str("framework"), Quantization: p.str("quantization"), Workload: p.str("workload")}
	if s := p.str("provenance"); s != "" {
		k, err := result.ParseKind(s)
		if err != nil {
			return f, badf("parameter provenance: %v", err)
		}
		f.Provenance = k
	}
	return f, nil
}

// canonical is the query with its parameters sorted: the cache key of the answer.
func (p params) canonical() string { return p.v.Encode() }

// Page is one page of a list; Next is the cursor of the next page, absent on
// the last.
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
	Total int    `json:"total"`
}

// paginate returns the page of items that follows the item whose key the
// cursor holds. A cursor names an item, not an offset, so that a page never
// repeats or skips an item when earlier ones are added; a cursor whose item
// is gone is an error that says to start again.
func paginate[T any](items []T, key func(*T) string, cursor string, limit int) (Page[T], error) {
	start := 0
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil {
			return Page[T]{}, badf("parameter cursor is not one this service gave: use the next field of the previous page")
		}
		at := -1
		for i := range items {
			if key(&items[i]) == string(b) {
				at = i
				break
			}
		}
		if at < 0 {
			return Page[T]{}, badf("parameter cursor names an item that is no longer listed: start again without a cursor")
		}
		start = at + 1
	}
	end := min(start+limit, len(items))
	pg := Page[T]{Items: items[start:end], Total: len(items)}
	if pg.Items == nil {
		pg.Items = []T{}
	}
	if end < len(items) {
		pg.Next = base64.RawURLEncoding.EncodeToString([]byte(key(&items[end-1])))
	}
	return pg, nil
}

// pageParams are the parameters of a paginated endpoint.
var pageParams = []string{"limit", "cursor"}

func (p params) page() (cursor string, limit int, err error) {
	limit, err = p.intIn("limit", DefaultLimit, 1, MaxLimit)
	return p.str("cursor"), limit, err
}

func with(a []string, b ...string) []string {
	out := append(slices.Clone(a), b...)
	sort.Strings(out)
	return out
}
