package benchfmt

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/llmsweep/llmsweep/internal/metrics"
)

// Notes that hold for every GenAI-Perf result (paths in
// triton-inference-server/perf_analyzer, under genai-perf/genai_perf/).
var genaiNotes = []string{
	"inter_token_latency is GenAI-Perf's per-request (E2E − TTFT) / (output tokens − 1), rounded to whole " +
		"nanoseconds, over requests with more than one output token: it fills TPOT. GenAI-Perf exports no " +
		"pooled gap between chunks, so ITL is unset (profile_data_parser/llm_profile_data_parser.py).",
	"TTFT and E2E run from the request to its first and last response with content, empty responses " +
		"dropped, as ours.",
	"Token counts, and so output_token_throughput and the sequence lengths, come from GenAI-Perf's " +
		"client-side tokenizer over the response text (token ids only for the TensorRT-LLM engine), not the " +
		"server's usage count.",
	"request_throughput divides every request of the experiment, empty responses included, by the time " +
		"from the first request to the last response; ours counts succeeded requests only. " +
		"output_token_throughput divides by the same time, as ours.",
	"Statistics are numpy's, as ours: population std and linearly interpolated percentiles; the median is p50 " +
		"(metrics/statistics.py).",
	"The file has no duration, token totals, total_token_throughput or sample counts: those Summary fields are unset.",
}

var genaiPct = regexp.MustCompile(`^p\d+$`)

// Time metrics carry a unit; GenAI-Perf writes ms (Statistics.scale_data).
var timeUnits = map[string]float64{"ms": 1, "s": 1e3, "us": 1e-3, "ns": 1e-6}

// genaiPerf decodes a profile_export_genai_perf.json object.
func (d *doc) genaiPerf(v val) (*Imported, error) {
	im := &Imported{Format: GenAIPerf, Source: Meta{Tool: "genai-perf"}}
	s := &im.Summary
	im.Notes = slices.Clone(genaiNotes)
	seen := map[string]bool{}
	var goodput float64
	streaming := true
	err := d.Object(v, func(key string, m val) error {
		seen[key] = true
		var (
			st   *metrics.Stats
			name string
			time bool
		)
		switch key {
		case "input_config":
			return d.genaiConfig(im, m, &streaming)
		case "telemetry_stats", "sessions":
			return nil // GPU telemetry and per-session statistics: not ours to map
		case "time_to_first_token":
			st, name, time = &s.TTFT, "ttft_ms", true
		case "inter_token_latency":
			st, name, time = &s.TPOT, "tpot_ms", true
		case "request_latency":
			st, name, time = &s.E2E, "e2e_ms", true
		case "time_to_second_token", "image_latency":
			time = true
		case "request_throughput", "output_token_throughput", "request_goodput",
			"output_token_throughput_per_request", "output_sequence_length", "input_sequence_length",
			"request_count", "image_throughput":
		default:
			if d.kind(m) == '{' { // a metric of a later version: keep its numbers
				_ = d.Object(m, func(k string, e val) error {
					if f, err := d.Float(e); err == nil {
						im.extra(key+"."+k, f)
					}
					return nil
				})
			}
			return nil
		}
		vals, err := d.genaiMetric(im, m, key, time)
		if err != nil {
			return err
		}
		switch key {
		case "request_count":
			avg, ok := vals["avg"]
			if !ok {
				return d.missing(m, "avg", "a number")
			}
			if avg < 0 || avg != math.Trunc(avg) || avg > math.MaxInt32 {
				return d.errorAt(m.at, join(m.path(), "avg"), fmt.Sprintf("want a count, got %v", avg))
			}
			s.Requests = int(avg)
			im.mark("requests")
			im.note("requests is GenAI-Perf's request_count, every request of the measurement; how many succeeded it does not say.")
			return nil
		case "request_throughput", "output_token_throughput", "request_goodput":
			avg, ok := vals["avg"]
			if !ok {
				return d.missing(m, "avg", "a number")
			}
			switch key {
			case "request_throughput":
				s.RequestThroughput = metrics.Of(avg)
				im.mark("request_throughput")
			case "output_token_throughput":
				s.OutputThroughput = metrics.Of(avg)
				im.mark("output_throughput")
			default:
				goodput = avg
			}
			return nil
		}
		for stat, f := range vals {
			switch {
			case st != nil && (stat == "avg" || stat == "p50"):
				if stat == "avg" {
					im.setStat(st, name, "mean", f)
				} else {
					im.setStat(st, name, "p50", f)
					im.setStat(st, name, "median", f)
				}
			case st != nil && slices.Contains([]string{"p90", "p95", "p99", "min", "max", "std"}, stat):
				im.setStat(st, name, stat, f)
			default:
				im.extra(key+"."+stat, f)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !seen["request_throughput"] {
		im.note("The file has no request_throughput: it is unset.")
	}
	if seen["request_goodput"] {
		if goodput < 0 {
			im.note("request_goodput is -1: GenAI-Perf met a --goodput SLO name it does not know, so goodput is unset.")
		} else {
			s.Goodput = metrics.Of(goodput)
			im.mark("goodput")
			im.note("goodput: GenAI-Perf's --goodput SLOs name its own metrics (its inter_token_latency is our TPOT); " +
				"a request passes at the SLO value, as ours. The count of good requests is not exported.")
		}
	}
	if !streaming {
		im.note("The run was not streamed: TTFT is the whole response time, and GenAI-Perf drops inter_token_latency (all zero).")
	} else if !seen["inter_token_latency"] {
		im.note("inter_token_latency is absent (GenAI-Perf drops it when all zero, as without streaming): TPOT is unset.")
	}
	for _, m := range []struct{ key, name string }{{"time_to_first_token", "ttft_ms"}, {"request_latency", "e2e_ms"}} {
		if !seen[m.key] {
			im.note(fmt.Sprintf("%s is absent (no request had a response): %s is unset.", m.key, strings.TrimSuffix(m.name, "_ms")))
		}
	}
	im.Notes = slices.Compact(im.Notes)
	return im, nil
}

// genaiMetric reads one statistics object, {"unit": ..., "avg": ..., "p1":
// ..., "min": ..., "max": ..., "std": ...}, converting a time metric to ms.
func (d *doc) genaiMetric(im *Imported, m val, key string, time bool) (map[string]float64, error) {
	vals := map[string]float64{}
	unit, haveUnit := "", false
	err := d.Object(m, func(k string, e val) error {
		switch {
		case k == "unit":
			var err error
			unit, err = d.String(e)
			haveUnit = true
			if err == nil && time {
				if _, ok := timeUnits[unit]; !ok {
					return d.want(e, `"ms", "s", "us" or "ns"`)
				}
			}
			return err
		case k == "avg" || k == "min" || k == "max" || k == "std" || genaiPct.MatchString(k):
			f, err := d.Float(e)
			vals[k] = f
			return err
		}
		if f, err := d.Float(e); err == nil {
			im.extra(key+"."+k, f) // a statistic of a later version
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if time {
		if !haveUnit {
			return nil, d.missing(m, "unit", "a string")
		}
		if scale := timeUnits[unit]; scale != 1 {
			for k, f := range vals {
				vals[k] = f * scale
			}
			im.note(fmt.Sprintf("%s is in %s, converted to ms.", key, unit))
		}
	}
	return vals, nil
}

// genaiConfig reads the run's settings from input_config, which GenAI-Perf
// writes in one of two shapes: its argparse namespace (flat: model, backend,
// endpoint_type, service_kind, streaming, u, concurrency, request_rate,
// tokenizer) or, later, its ConfigCommand (nested: model_names, endpoint{},
// perf_analyzer{stimulus{}}, tokenizer{}). Only the fields read are checked.
func (d *doc) genaiConfig(im *Imported, v val, streaming *bool) error {
	meta := &im.Source
	models := func(m val) error {
		var names []string
		if d.kind(m) == '"' && !d.isSpecial(m) { // ConfigCommand's default is ""
			if s := d.str(m); s != "" {
				names = []string{s}
			}
		} else {
			var err error
			if d.kind(m) != '[' {
				return d.want(m, "a string or an array of strings")
			}
			if names, err = d.Strings(m); err != nil {
				return err
			}
		}
		if len(names) > 0 {
			meta.Model = names[0]
		}
		if len(names) > 1 {
			meta.label("model_names", strings.Join(names, ","))
		}
		return nil
	}
	optStr := func(m val, set func(string)) error {
		s, err := d.OptString(m)
		if err == nil && s != "" {
			set(s)
		}
		return err
	}
	return d.Object(v, func(key string, m val) error {
		var err error
		switch key {
		case "model", "model_names":
			return models(m)
		case "service_kind":
			return optStr(m, func(s string) { meta.Backend = s })
		case "endpoint_type":
			return optStr(m, func(s string) { meta.Endpoint = s })
		case "backend": // Triton's backend: the server framework
			return optStr(m, func(s string) { meta.label("backend", s); meta.Server = s })
		case "u":
			return optStr(m, func(s string) { meta.label("url", s) })
		case "streaming":
			*streaming, err = d.Bool(m)
		case "concurrency":
			var n int64
			n, _, err = d.OptInt(m)
			meta.Concurrency = int(n)
		case "request_rate":
			meta.RequestRate, _, err = d.OptFloat(m)
		case "tokenizer":
			switch d.kind(m) {
			case '"':
				meta.Tokenizer, err = d.String(m)
			case '{':
				err = d.Object(m, func(k string, e val) error {
					if k == "name" {
						return optStr(e, func(s string) { meta.Tokenizer = s })
					}
					return nil
				})
			default:
				err = d.want(m, "a string or an object")
			}
		case "endpoint":
			switch d.kind(m) {
			case '{':
				err = d.Object(m, func(k string, e val) error {
					switch k {
					case "type":
						return optStr(e, func(s string) { meta.Endpoint = s })
					case "service_kind":
						return optStr(e, func(s string) { meta.Backend = s })
					case "backend":
						return optStr(e, func(s string) { meta.label("backend", s); meta.Server = s })
					case "url":
						return optStr(e, func(s string) { meta.label("url", s) })
					case "streaming":
						var err error
						*streaming, err = d.Bool(e)
						return err
					}
					return nil
				})
			default: // the argparse shape: a custom endpoint path, or null
				err = optStr(m, func(s string) { meta.label("endpoint", s) })
			}
		case "perf_analyzer":
			err = d.Object(m, func(k string, e val) error {
				if k != "stimulus" {
					return nil
				}
				return d.Object(e, func(k string, x val) error {
					switch k {
					case "concurrency", "session_concurrency":
						n, err := d.Int(x)
						meta.Concurrency = int(n)
						return err
					case "request_rate", "session_request_rate":
						var err error
						meta.RequestRate, err = d.Float(x)
						return err
					}
					return nil
				})
			})
		}
		return err
	})
}
