package benchfmt

import (
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/llmsweep/llmsweep/internal/metrics"
)

// statNames maps a tool's statistic names to the Stats JSON names ("mean",
// "median", "std", "p50" ... "min", "max", and "n" for the sample count).
type statNames map[string]string

var (
	// AIPerf and GenAI-Perf: avg, pNN, min, max, std, count.
	aiperfStats = statNames{"avg": "mean", "p50": "p50", "p90": "p90", "p95": "p95", "p99": "p99",
		"min": "min", "max": "max", "std": "std", "count": "n"}
	// GuideLLM: mean, median, std_dev, min, max, count, percentiles{p50 ...}.
	guidellmStats = statNames{"mean": "mean", "median": "median", "std_dev": "std", "min": "min", "max": "max",
		"count": "n", "p50": "p50", "p90": "p90", "p95": "p95", "p99": "p99"}
	// inference-perf: mean, min, max, median, pNN (no std, no count).
	infPerfStats = statNames{"mean": "mean", "median": "median", "min": "min", "max": "max",
		"p50": "p50", "p90": "p90", "p95": "p95", "p99": "p99"}
)

// timeScale converts a time unit as the tools write it to milliseconds.
func timeScale(unit string) (float64, bool) {
	switch strings.ToLower(unit) {
	case "ms":
		return 1, true
	case "s", "sec", "secs", "second", "seconds":
		return 1e3, true
	case "us", "µs":
		return 1e-3, true
	case "ns":
		return 1e-6, true
	}
	return 0, false
}

// readStats reads one statistics object into st (named name in Missing
// paths), scaling each value: the names its statistics go by are in names,
// nested objects (GuideLLM's "percentiles") are read the same way, nulls
// (AIPerf's early export writes them for single values) are skipped, and
// the other numbers go to Extra under extra.<key> (nowhere for an empty
// extra). skip names keys the caller reads itself.
func (d *doc) readStats(im *Imported, obj val, st *metrics.Stats, name string, scale float64, names statNames, extra string, skip ...string) error {
	return d.Object(obj, func(k string, e val) error {
		for _, s := range skip {
			if k == s {
				return nil
			}
		}
		switch d.kind(e) {
		case 'n':
			return nil
		case '{':
			sub := ""
			if extra != "" {
				sub = extra + "." + k
			}
			return d.readStats(im, e, st, name, scale, names, sub)
		case '0', '"':
		default:
			return nil // a string label ("unit", "tag", "header") or an array
		}
		if d.kind(e) == '"' && !d.isSpecial(e) {
			if _, ok := names[k]; ok && st != nil {
				return d.want(e, "a number") // a statistic's value, not a label
			}
			return nil
		}
		f, err := d.Float(e)
		if err != nil {
			return err
		}
		field, ok := names[k]
		switch {
		case !ok || st == nil:
			if extra != "" {
				im.extra(extra+"."+k, f)
			}
		case field == "n":
			if f < 0 || f != math.Trunc(f) || f > math.MaxInt32 {
				return d.want(e, "a count")
			}
			st.N = int(f)
			im.mark(name + ".n")
		default:
			im.setStat(st, name, field, f*scale)
			if field == "p50" && !im.present[name+".median"] {
				st.Median = metrics.Of(f * scale) // numpy's median is its 50th percentile
				im.mark(name + ".median")
			}
			if field == "median" && !im.present[name+".p50"] {
				st.P50 = metrics.Of(f * scale)
				im.mark(name + ".p50")
			}
		}
		return nil
	})
}

// count reads a count a tool writes as a number (AIPerf writes 96.0).
func (d *doc) count(v val) (int, error) {
	f, err := d.float(v, "a count")
	if err != nil {
		return 0, err
	}
	if f < 0 || f != math.Trunc(f) || f > math.MaxInt32 {
		return 0, d.want(v, "a count")
	}
	return int(f), nil
}

// Dates as the tools write them: vLLM's local %Y%m%d-%H%M%S, newer tools'
// RFC 3339, and Python's isoformat() without a zone.
var dateLayouts = []string{vllmDate, time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"}

// parseDate reads a date in any of dateLayouts; a time without a zone is
// taken as UTC, for want of the zone.
func parseDate(s string) (time.Time, bool) {
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// multiTurn names fields of multi-turn (conversation) benchmarks, which no
// Summary field holds: they are kept, and said so.
var multiTurn = regexp.MustCompile(`(?i)turn|conversation|session`)
