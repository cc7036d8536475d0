package benchfmt

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/llmsweep/llmsweep/internal/metrics"
)

// Notes that hold for every AIPerf result (ai-dynamo/aiperf, aiperf/metrics/types).
var aiperfNotes = []string{
	"TTFT runs from the request to its first response with content, as ours. E2E (request_latency) ends at the last response.",
	"AIPerf's inter_token_latency is each request's (E2E − TTFT) / (output tokens − 1): it fills TPOT. Its " +
		"inter_chunk_latency, the gaps between streamed chunks pooled over requests, fills ITL.",
	"Token counts come from AIPerf's client-side tokenizer over the response text. Output tokens are the output " +
		"sequence length, which counts reasoning tokens too (total_osl); total_output_tokens, without them, is kept in Extra.",
	"request_throughput divides the requests that completed without error by the benchmark's duration, as ours; " +
		"statistics are numpy's (population std, linear percentiles).",
}

// aiperfTime are the metrics AIPerf writes in a time unit, under either of
// its names (the early export's tags, the later export's keys).
var aiperfTime = map[string]string{
	"time_to_first_token": "ttft_ms", "ttft": "ttft_ms",
	"inter_token_latency": "tpot_ms", "itl": "tpot_ms",
	"inter_chunk_latency": "itl_ms", "icl": "itl_ms",
	"request_latency": "e2e_ms",
}

// aiperf decodes a profile_export_aiperf.json object: the statistics at the
// top level (schema_version 1.x) or under "records" (AIPerf's first exports).
func (d *doc) aiperf(v val) (*Imported, error) {
	im := &Imported{Format: AIPerf, Source: Meta{Tool: "aiperf"}}
	im.Notes = slices.Clone(aiperfNotes)
	s := &im.Summary
	var (
		failed, errorsSeen bool
		errorCounts        = map[string]int{}
		errTotal           int
	)
	metric := func(key string, m val) error {
		if d.kind(m) != '{' {
			return nil // a scalar of a later version: kept when numeric
		}
		var unit string
		_ = d.Object(m, func(k string, e val) error {
			if k == "unit" && d.kind(e) == '"' {
				unit = d.str(e)
			}
			return nil
		})
		avg := func() (float64, bool, error) {
			var f float64
			var ok bool
			err := d.Object(m, func(k string, e val) error {
				if k != "avg" {
					return nil
				}
				var err error
				f, ok, err = d.OptFloat(e)
				return err
			})
			return f, ok, err
		}
		if name, ok := aiperfTime[key]; ok {
			scale, ok := timeScale(unit)
			if !ok {
				return d.missing(m, "unit", `a time unit ("ms", "sec", "us" or "ns")`)
			}
			st := map[string]*metrics.Stats{"ttft_ms": &s.TTFT, "tpot_ms": &s.TPOT, "itl_ms": &s.ITL, "e2e_ms": &s.E2E}[name]
			if scale != 1 {
				im.note(fmt.Sprintf("%s is in %s, converted to ms.", key, unit))
			}
			return d.readStats(im, m, st, name, scale, aiperfStats, key, "tag", "unit", "header")
		}
		switch key {
		case "request_throughput", "output_token_throughput", "total_token_throughput", "goodput", "request_goodput",
			"benchmark_duration", "request_count", "error_request_count", "good_request_count", "total_isl", "total_osl":
		default:
			return d.readStats(im, m, nil, "", 1, nil, key, "tag", "unit", "header")
		}
		f, ok, err := avg()
		if err != nil || !ok {
			return err
		}
		switch key {
		case "request_throughput":
			s.RequestThroughput = metrics.Of(f)
			im.mark("request_throughput")
		case "output_token_throughput":
			s.OutputThroughput = metrics.Of(f)
			im.mark("output_throughput")
		case "total_token_throughput":
			s.TotalTokenThroughput = metrics.Of(f)
			im.mark("total_token_throughput")
		case "goodput", "request_goodput":
			s.Goodput = metrics.Of(f)
			im.mark("goodput")
		case "benchmark_duration":
			scale, ok := timeScale(unit)
			if !ok {
				return d.missing(m, "unit", `a time unit ("sec", "ms", ...)`)
			}
			if scale != 1e3 { // seconds are taken as written, not through ms
				f *= scale / 1e3
			}
			s.DurationS = metrics.Of(f)
			im.mark("duration_s")
		case "request_count", "error_request_count", "good_request_count":
			n, err := d.countOf(m)
			if err != nil {
				return err
			}
			switch key {
			case "request_count":
				s.Succeeded = n
				im.mark("succeeded")
			case "error_request_count":
				s.Failed, failed = n, true
				im.mark("failed")
			default:
				s.GoodRequests = n
				im.mark("good_requests")
			}
		case "total_isl":
			s.InputTokens = int64(math.Round(f))
			im.mark("input_tokens")
		case "total_osl":
			s.OutputTokens = int64(math.Round(f))
			im.mark("output_tokens")
		}
		return nil
	}
	err := d.Object(v, func(key string, m val) error {
		var err error
		switch key {
		case "records":
			if d.kind(m) != '{' {
				return d.want(m, "an object")
			}
			return d.Object(m, metric)
		case "aiperf_version":
			im.Source.ToolVersion, err = d.String(m)
		case "schema_version", "benchmark_id":
			var s string
			if s, err = d.String(m); err == nil {
				im.Source.label(key, s)
			}
		case "input_config":
			return d.aiperfConfig(im, m)
		case "run_info": // a sweep's point: its label and the values it varied
			return d.Object(m, func(k string, e val) error {
				switch {
				case k == "variation_values":
					return d.readStats(im, e, nil, "", 1, nil, "variation_values")
				case k == "benchmark_id":
				case d.kind(e) == '"':
					im.Source.label(k, d.str(e))
				}
				return nil
			})
		case "start_time":
			if im.Source.Date, err = d.OptString(m); err == nil && im.Source.Date != "" {
				if t, ok := parseDate(im.Source.Date); ok {
					im.Source.Time = t
				} else {
					im.note(fmt.Sprintf("start_time %q is not a date this reads: kept as text only", im.Source.Date))
				}
			}
		case "was_cancelled":
			var c bool
			if c, err = d.Bool(m); err == nil && c {
				im.note("AIPerf says the run was cancelled before it finished: its figures cover what ran.")
			}
		case "error_summary":
			errorsSeen = true
			return d.Array(m, func(_ int, e val) error {
				var typ string
				n := 0
				err := d.Object(e, func(k string, x val) error {
					switch k {
					case "count":
						var err error
						n, err = d.count(x)
						return err
					case "error_details":
						return d.Object(x, func(k string, y val) error {
							if k == "type" && d.kind(y) == '"' {
								typ = d.str(y)
							}
							if k == "code" && typ == "" && d.kind(y) == '0' {
								typ = "http_" + string(d.src[y.at:y.end])
							}
							return nil
						})
					}
					return nil
				})
				errorCounts[cmpOr(typ, "error")] += n
				errTotal += n
				return err
			})
		case "telemetry_data", "end_time":
		default:
			return metric(key, m)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if errorsSeen {
		if len(errorCounts) > 0 {
			s.Errors = errorCounts
		}
		im.mark("errors")
		if !failed {
			s.Failed = errTotal
			im.mark("failed")
		}
	}
	if im.present["succeeded"] && im.present["failed"] {
		s.Requests = s.Succeeded + s.Failed
		im.mark("requests")
	}
	if im.present["ttft_ms.mean"] {
		im.note("TTFT and E2E count one sample a request that succeeded (count); ITL counts every gap between chunks.")
	}
	for _, m := range []struct{ key, name string }{{"time_to_first_token", "ttft_ms"}, {"inter_token_latency", "tpot_ms"},
		{"inter_chunk_latency", "itl_ms"}, {"request_latency", "e2e_ms"}} {
		if !im.present[m.name+".mean"] {
			im.note(fmt.Sprintf("%s is absent (AIPerf writes it only for streamed responses): %s is unset.", m.key, strings.TrimSuffix(m.name, "_ms")))
		}
	}
	return im, nil
}

// countOf reads the avg of a count metric ({"unit": "requests", "avg": 96.0}).
func (d *doc) countOf(m val) (int, error) {
	n := 0
	err := d.Object(m, func(k string, e val) error {
		if k != "avg" {
			return nil
		}
		var err error
		n, err = d.count(e)
		return err
	})
	return n, err
}

// aiperfConfig reads the run's settings from AIPerf's input_config, in any
// of its shapes: endpoint.model_names or models.items[].name; loadgen
// {concurrency, request_rate} or phases[] (the profiling phase's).
func (d *doc) aiperfConfig(im *Imported, v val) error {
	meta := &im.Source
	str := func(e val, set func(string)) error {
		s, err := d.OptString(e)
		if err == nil && s != "" {
			set(s)
		}
		return err
	}
	models := func(names []string) {
		if len(names) > 0 {
			meta.Model = names[0]
		}
		if len(names) > 1 {
			meta.label("model_names", strings.Join(names, ","))
		}
	}
	load := func(e val, phase string) error {
		return d.Object(e, func(k string, x val) error {
			switch k {
			case "concurrency":
				n, ok, err := d.OptInt(x)
				if ok {
					meta.Concurrency = int(n)
				}
				return err
			case "request_rate":
				f, ok, err := d.OptFloat(x)
				if ok {
					meta.RequestRate = f
				}
				return err
			case "request_rate_mode", "arrival_pattern", "type":
				if d.kind(x) == '"' {
					meta.label(phase+k, d.str(x))
				}
			case "request_count", "requests":
				if n, ok, err := d.OptInt(x); err == nil && ok {
					meta.NumPrompts = int(n)
				}
			}
			return nil
		})
	}
	return d.Object(v, func(key string, m val) error {
		switch key {
		case "endpoint":
			return d.Object(m, func(k string, e val) error {
				switch k {
				case "model_names":
					names, err := d.Strings(e)
					models(names)
					return err
				case "type":
					return str(e, func(s string) { meta.Endpoint = s })
				case "custom_endpoint":
					return str(e, func(s string) { meta.label("custom_endpoint", s) })
				case "url":
					return str(e, func(s string) { meta.label("url", s) })
				case "urls":
					urls, err := d.Strings(e)
					if len(urls) > 0 {
						meta.label("url", strings.Join(urls, ","))
					}
					return err
				case "streaming":
					on, err := d.Bool(e)
					if err == nil && !on {
						im.note("The run was not streamed: TTFT is the whole response time, and AIPerf writes no inter-token figures.")
					}
					return err
				}
				return nil
			})
		case "models":
			return d.Object(m, func(k string, e val) error {
				if k != "items" {
					return nil
				}
				var names []string
				err := d.Array(e, func(_ int, x val) error {
					return d.Object(x, func(k string, y val) error {
						if k == "name" {
							return str(y, func(s string) { names = append(names, s) })
						}
						return nil
					})
				})
				models(names)
				return err
			})
		case "tokenizer":
			return d.Object(m, func(k string, e val) error {
				if k == "name" {
					return str(e, func(s string) { meta.Tokenizer = s })
				}
				return nil
			})
		case "loadgen":
			return load(m, "")
		case "phases":
			return d.Array(m, func(_ int, e val) error {
				name := ""
				_ = d.Object(e, func(k string, x val) error {
					if k == "name" && d.kind(x) == '"' {
						name = d.str(x)
					}
					return nil
				})
				if name != "profiling" {
					return nil
				}
				return load(e, "phase_")
			})
		case "cli_command":
			return str(m, func(s string) { meta.label("cli_command", s) })
		case "slos": // goodput's objectives, by AIPerf's metric names
			return d.readStats(im, m, nil, "", 1, nil, "slos")
		}
		return nil
	})
}

// aiperfRecords decodes AIPerf's profile_export.jsonl: one request a line,
// {"metadata": {...}, "metrics": {name: {"value": ..., "unit": ...}},
// "error": {...} or null}. Warmup requests are left out; the summary is ours,
// computed from the requests.
func (d *doc) aiperfRecords(starts []int) (*Imported, error) {
	im := &Imported{Format: AIPerfRecords, Source: Meta{Tool: "aiperf"}}
	var (
		reqs          []Request
		warmup, turns int
		convs         = map[string]bool{}
		fields        = map[string]bool{}
	)
	for _, at := range starts {
		v := d.val(at, "")
		if k := d.kind(v); k != '{' {
			return nil, d.errorAt(at, "", "want a JSON object a line, got "+d.describe(v))
		}
		var r Request
		skip := false
		err := d.Object(v, func(key string, m val) error {
			switch key {
			case "metadata":
				return d.Object(m, func(k string, e val) error {
					switch k {
					case "request_start_ns", "timestamp_ns":
						if k == "timestamp_ns" && r.StartNs != 0 {
							return nil
						}
						n, err := d.Int(e)
						r.StartNs = n
						return err
					case "benchmark_phase", "credit_phase":
						s, err := d.String(e)
						skip = skip || s == "warmup"
						return err
					case "conversation_id":
						if d.kind(e) == '"' {
							convs[d.str(e)] = true
						}
					case "turn_index":
						if n, _, err := d.OptInt(e); err == nil && int(n) >= turns {
							turns = int(n) + 1
						}
					}
					return nil
				})
			case "metrics":
				return d.Object(m, func(k string, e val) error {
					return d.aiperfRecordMetric(&r, fields, k, e)
				})
			case "error":
				if d.isNull(m) {
					return nil
				}
				r.Failed = true
				var typ, msg string
				err := d.Object(m, func(k string, e val) error {
					if d.kind(e) == '"' {
						switch k {
						case "type":
							typ = d.str(e)
						case "message":
							msg = d.str(e)
						}
					}
					return nil
				})
				r.Error = strings.TrimPrefix(typ+": "+msg, ": ")
				return err
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if skip {
			warmup++
			continue
		}
		reqs = append(reqs, r)
	}
	sort.SliceStable(reqs, func(i, j int) bool { return reqs[i].StartNs < reqs[j].StartNs })
	im.Requests = reqs
	im.RequestArrays = sortedKeys(fields)
	if warmup > 0 {
		im.note(fmt.Sprintf("%d warmup requests are left out, as AIPerf leaves them out of its summary.", warmup))
	}
	if turns > 1 {
		im.note(fmt.Sprintf("A multi-turn run: %d conversations of up to %d turns; each turn is a request here.", len(convs), turns))
	}
	summarizeRequests(im)
	im.note("AIPerf's per-request times: TTFT is time_to_first_token, E2E request_latency, the gaps between chunks " +
		"inter_chunk_latency; output tokens are the output sequence length (reasoning included), from AIPerf's tokenizer.")
	return im, nil
}

// aiperfRecordMetric reads one {"value", "unit"} of a record.
func (d *doc) aiperfRecordMetric(r *Request, fields map[string]bool, k string, e val) error {
	var value val
	var unit string
	have := false
	err := d.Object(e, func(kk string, x val) error {
		switch kk {
		case "value":
			value, have = x, true
		case "unit":
			if d.kind(x) == '"' {
				unit = d.str(x)
			}
		}
		return nil
	})
	if err != nil || !have || d.isNull(value) {
		return err
	}
	time := func() (float64, error) {
		scale, ok := timeScale(unit)
		if !ok {
			return 0, d.errorAt(e.at, join(e.path(), "unit"), "want a time unit, got "+fmt.Sprintf("%q", unit))
		}
		return scale, nil
	}
	switch k {
	case "time_to_first_token", "ttft", "request_latency":
		scale, err := time()
		if err != nil {
			return err
		}
		f, err := d.Float(value)
		if k == "request_latency" {
			r.E2Ems = f * scale
		} else {
			r.TTFTms = f * scale
			k = "time_to_first_token"
		}
		fields[k] = true
		return err
	case "inter_chunk_latency":
		scale, err := time()
		if err != nil {
			return err
		}
		gaps, err := d.Floats(value)
		for i := range gaps {
			gaps[i] *= scale
		}
		r.ITLms = gaps
		fields[k] = true
		return err
	case "input_sequence_length":
		n, err := d.count(value)
		r.InputTokens = int64(n)
		fields[k] = true
		return err
	case "output_sequence_length", "output_token_count":
		if k == "output_token_count" && fields["output_sequence_length"] {
			return nil
		}
		n, err := d.count(value)
		r.OutputTokens = int64(n)
		fields[k] = true
		return err
	}
	return nil
}

func sortedKeys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }
