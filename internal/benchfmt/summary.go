package benchfmt

import (
	"github.com/llmsweep/llmsweep/internal/metrics"
)

// summaryPaths are the Summary fields an import can fill, by JSON path.
var (
	topPaths   = []string{"requests", "succeeded", "failed", "errors", "duration_s"}
	statsNames = []string{"ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"}
	statPaths  = []string{"n", "mean", "median", "std", "p50", "p90", "p95", "p99", "min", "max"}
	ratePaths  = []string{"request_throughput", "output_throughput", "total_token_throughput", "goodput",
		"good_requests", "input_tokens", "output_tokens", "client_output_tokens",
		"server_reported_percent", "token_discrepancy"}
)

// missing lists the paths not marked present. The open-loop statistics are
// pointers, nil when absent, so only their fields are listed, when set.
func missing(s metrics.Summary, present map[string]bool) []string {
	var out []string
	add := func(p string) {
		if !present[p] {
			out = append(out, p)
		}
	}
	for _, p := range topPaths {
		add(p)
	}
	for _, n := range statsNames {
		for _, p := range statPaths {
			add(n + "." + p)
		}
	}
	for _, opt := range []struct {
		name string
		st   *metrics.Stats
	}{{"ttft_scheduled_ms", s.TTFTScheduled}, {"e2e_scheduled_ms", s.E2EScheduled}, {"send_lag_ms", s.SendLag}} {
		if opt.st != nil {
			for _, p := range statPaths {
				add(opt.name + "." + p)
			}
		}
	}
	for _, p := range ratePaths {
		add(p)
	}
	return out
}

func (im *Imported) mark(path string) {
	if im.present == nil {
		im.present = map[string]bool{}
	}
	im.present[path] = true
}

// setStat sets one statistic of st, named as in the Stats JSON, and marks
// name.field present.
func (im *Imported) setStat(st *metrics.Stats, name, field string, v float64) {
	switch field {
	case "mean":
		st.Mean = metrics.Of(v)
	case "median":
		st.Median = metrics.Of(v)
	case "std":
		st.Std = metrics.Of(v)
	case "p50":
		st.P50 = metrics.Of(v)
	case "p90":
		st.P90 = metrics.Of(v)
	case "p95":
		st.P95 = metrics.Of(v)
	case "p99":
		st.P99 = metrics.Of(v)
	case "min":
		st.Min = metrics.Of(v)
	case "max":
		st.Max = metrics.Of(v)
	default:
		return
	}
	im.mark(name + "." + field)
}

func (im *Imported) extra(key string, v float64) {
	if im.Extra == nil {
		im.Extra = map[string]float64{}
	}
	im.Extra[key] = v
}

func (im *Imported) note(s string) { im.Notes = append(im.Notes, s) }

func (m *Meta) label(k, v string) {
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	m.Labels[k] = v
}

// into sets dst to a number read without error.
func into(dst *metrics.Value) func(float64, error) error {
	return func(v float64, err error) error {
		if err == nil {
			*dst = metrics.Of(v)
		}
		return err
	}
}
