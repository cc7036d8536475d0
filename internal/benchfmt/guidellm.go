package benchfmt

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"

	"github.com/llmsweep/llmsweep/internal/metrics"
)

// Notes that hold for every GuideLLM result (vllm-project/guidellm,
// src/guidellm/benchmark/schemas and the request stats).
var guidellmNotes = []string{
	"GuideLLM's inter_token_latency_ms is each request's (last token − first token) / (output tokens − 1): it fills TPOT. " +
		"Its time_per_output_token_ms divides the whole latency, TTFT included, by the output tokens: not ours, kept in Extra. " +
		"GuideLLM exports no gaps between chunks, so ITL is unset.",
	"GuideLLM weights its TPOT distribution by token (count is output tokens after the first), ours by request.",
	"Throughputs are the means of GuideLLM's rate distributions over the benchmark (requests_per_second, " +
		"output_tokens_per_second, tokens_per_second), of successful requests; the duration is the measured window " +
		"(scheduler_metrics measure_start_time to measure_end_time).",
	"Token counts are the server's usage where it reports one, else GuideLLM's tokenizer (prefer_response_metrics).",
	"Failed counts errored and incomplete requests (cut off at the benchmark's end) together, as the total less the successful.",
}

// guidellmModel finds the model in a request's body, which GuideLLM writes
// as a Python repr ("{'body': {'model': 'x', ...}}"), where its config has none.
var guidellmModel = regexp.MustCompile(`'model': '([^']+)'`)

// guidellm decodes a GuideLLM report: one result per benchmark (sweep point).
func (d *doc) guidellm(v val) ([]*Imported, error) {
	var (
		version, target, backend, model, profile string
		benches                                  []val
	)
	err := d.Object(v, func(key string, m val) error {
		switch key {
		case "metadata":
			return d.Object(m, func(k string, e val) error {
				if k == "guidellm_version" && d.kind(e) == '"' {
					version = d.str(e)
				}
				return nil
			})
		case "args":
			return d.Object(m, func(k string, e val) error {
				if d.kind(e) != '"' {
					return nil
				}
				switch k {
				case "target":
					target = d.str(e)
				case "backend", "backend_type":
					backend = d.str(e)
				case "model":
					model = d.str(e)
				case "profile":
					profile = d.str(e)
				}
				return nil
			})
		case "benchmarks":
			return d.Array(m, func(_ int, e val) error {
				if d.kind(e) != '{' {
					return d.want(e, "a benchmark object")
				}
				benches = append(benches, e)
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(benches) == 0 {
		return nil, d.errorAt(v.at, "benchmarks", "no benchmark in the file")
	}
	out := make([]*Imported, 0, len(benches))
	for i, b := range benches {
		im := &Imported{Format: GuideLLM, Source: Meta{Tool: "guidellm", ToolVersion: version, Model: model, Backend: backend}}
		im.Notes = slices.Clone(guidellmNotes)
		if target != "" {
			im.Source.label("target", target)
		}
		if profile != "" {
			im.Source.label("profile", profile)
		}
		if err := d.guidellmBenchmark(im, b); err != nil {
			return nil, err
		}
		strategy := im.Source.Labels["strategy"]
		switch r := im.Source.RequestRate; {
		case math.IsInf(r, 1):
			strategy += " inf/s"
		case r > 0:
			strategy += " " + strconv.FormatFloat(r, 'g', 4, 64) + "/s"
		case im.Source.Concurrency > 0:
			strategy += " c=" + strconv.Itoa(im.Source.Concurrency)
		}
		im.Name = fmt.Sprintf("benchmark %d of %d (%s)", i+1, len(benches), strategy)
		out = append(out, im)
	}
	return out, nil
}

// guidellmMetrics maps GuideLLM's metrics to the Summary's statistics, with
// the scale to milliseconds.
var guidellmMetrics = map[string]struct {
	name  string
	scale float64
}{
	"time_to_first_token_ms": {"ttft_ms", 1},
	"inter_token_latency_ms": {"tpot_ms", 1},
	"request_latency":        {"e2e_ms", 1e3},
}

func (d *doc) guidellmBenchmark(im *Imported, b val) error {
	s := &im.Summary
	meta := &im.Source
	var start, end float64
	var haveWindow bool
	strategy := func(e val) error {
		return d.Object(e, func(k string, x val) error {
			switch k {
			case "type_":
				if d.kind(x) == '"' {
					t := d.str(x)
					meta.label("strategy", t)
					switch t {
					case "synchronous":
						meta.Concurrency = 1
					case "throughput":
						meta.RequestRate = math.Inf(1)
					}
				}
			case "streams":
				n, ok, err := d.OptInt(x)
				if ok {
					meta.Concurrency = int(n)
				}
				return err
			case "rate":
				f, ok, err := d.OptFloat(x)
				if ok && f > 0 {
					meta.RequestRate = f
				}
				return err
			case "max_concurrency":
				n, ok, err := d.OptInt(x)
				if ok && meta.Concurrency == 0 && meta.Labels["strategy"] == "concurrent" {
					meta.Concurrency = int(n)
				}
				return err
			}
			return nil
		})
	}
	totals := func(e val) error {
		return d.Object(e, func(k string, x val) error {
			n, err := d.count(x)
			switch k {
			case "successful":
				s.Succeeded = n
				im.mark("succeeded")
			case "total":
				s.Requests = n
				im.mark("requests")
			}
			return err
		})
	}
	window := func(e val, from, to string) error {
		return d.Object(e, func(k string, x val) error {
			switch k {
			case from, to:
				f, ok, err := d.OptFloat(x)
				if !ok {
					return err
				}
				if k == from {
					start = f
				} else {
					end = f
				}
				haveWindow = true
			case "requests_made":
				return totals(x)
			}
			return nil
		})
	}
	err := d.Object(b, func(key string, m val) error {
		switch key {
		case "config", "args": // config since GuideLLM 0.4, args before
			return d.Object(m, func(k string, e val) error {
				switch k {
				case "strategy":
					return strategy(e)
				case "backend":
					if d.kind(e) == '{' {
						return d.Object(e, func(k string, x val) error {
							if k == "model" && d.kind(x) == '"' {
								meta.Model = d.str(x)
							}
							return nil
						})
					}
				case "run_id", "id_":
					if d.kind(e) == '"' {
						meta.label(k, d.str(e))
					}
				}
				return nil
			})
		case "scheduler_metrics":
			return window(m, "measure_start_time", "measure_end_time")
		case "run_stats":
			if !haveWindow {
				return window(m, "start_time", "end_time")
			}
		case "request_totals":
			return totals(m)
		case "metrics":
			return d.guidellmMetrics(im, m, totals)
		case "requests":
			return d.guidellmRequests(im, m)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if haveWindow && end > start {
		s.DurationS = metrics.Of(end - start)
		im.mark("duration_s")
	}
	if im.present["succeeded"] && im.present["requests"] {
		if s.Requests < s.Succeeded {
			return d.errorAt(b.at, "", fmt.Sprintf("request totals: %d successful of %d in all", s.Succeeded, s.Requests))
		}
		s.Failed = s.Requests - s.Succeeded
		im.mark("failed")
	}
	return nil
}

func (d *doc) guidellmMetrics(im *Imported, m val, totals func(val) error) error {
	s := &im.Summary
	successful := func(e val, f func(val) error) error {
		return d.Object(e, func(k string, x val) error {
			if k == "successful" && d.kind(x) == '{' {
				return f(x)
			}
			return nil
		})
	}
	field := func(x val, name string) (float64, bool, error) {
		var f float64
		var ok bool
		err := d.Object(x, func(k string, y val) error {
			if k != name {
				return nil
			}
			var err error
			f, ok, err = d.OptFloat(y)
			return err
		})
		return f, ok, err
	}
	return d.Object(m, func(key string, e val) error {
		if key == "request_totals" {
			return totals(e)
		}
		if mm, ok := guidellmMetrics[key]; ok {
			st := map[string]*metrics.Stats{"ttft_ms": &s.TTFT, "tpot_ms": &s.TPOT, "e2e_ms": &s.E2E}[mm.name]
			return successful(e, func(x val) error {
				return d.readStats(im, x, st, mm.name, mm.scale, guidellmStats, "", "pdf")
			})
		}
		return successful(e, func(x val) error {
			var dst *metrics.Value
			var mark, stat string
			switch key {
			case "requests_per_second":
				dst, mark, stat = &s.RequestThroughput, "request_throughput", "mean"
			case "output_tokens_per_second":
				dst, mark, stat = &s.OutputThroughput, "output_throughput", "mean"
			case "tokens_per_second":
				dst, mark, stat = &s.TotalTokenThroughput, "total_token_throughput", "mean"
			case "prompt_token_count", "output_token_count":
				f, ok, err := field(x, "total_sum")
				if err != nil || !ok {
					return err
				}
				if key == "prompt_token_count" {
					s.InputTokens = int64(math.Round(f))
					im.mark("input_tokens")
				} else {
					s.OutputTokens = int64(math.Round(f))
					im.mark("output_tokens")
				}
				return nil
			case "time_per_output_token_ms":
				for _, k := range []string{"mean", "median"} {
					if f, ok, err := field(x, k); err != nil {
						return err
					} else if ok {
						im.extra(key+".successful."+k, f)
					}
				}
				return nil
			default:
				return nil
			}
			f, ok, err := field(x, stat)
			if ok {
				*dst = metrics.Of(f)
				im.mark(mark)
			}
			return err
		})
	})
}

// guidellmRequests reads the sampled requests of a benchmark, by status.
func (d *doc) guidellmRequests(im *Imported, m val) error {
	fields := map[string]bool{}
	err := d.Object(m, func(status string, list val) error {
		if d.kind(list) != '[' {
			return nil
		}
		return d.Array(list, func(_ int, e val) error {
			r := Request{Failed: status != "successful"}
			var startS float64
			err := d.Object(e, func(k string, x val) error {
				var err error
				switch k {
				case "request_start_time", "start_time":
					var f float64
					var ok bool
					if f, ok, err = d.OptFloat(x); ok {
						startS = f
					}
				case "request_latency":
					var f float64
					var ok bool
					if f, ok, err = d.OptFloat(x); ok {
						r.E2Ems = f * 1e3
						fields[k] = true
					}
				case "time_to_first_token_ms":
					var f float64
					var ok bool
					if f, ok, err = d.OptFloat(x); ok {
						r.TTFTms = f
						fields[k] = true
					}
				case "prompt_tokens", "output_tokens":
					var n int64
					var ok bool
					if n, ok, err = d.OptInt(x); ok {
						if k == "prompt_tokens" {
							r.InputTokens = n
						} else {
							r.OutputTokens = n
						}
						fields[k] = true
					}
				case "output":
					r.Text, err = d.OptString(x)
				case "error":
					if d.kind(x) == '"' {
						r.Error = d.str(x)
					}
				case "info":
					err = d.Object(x, func(k string, y val) error {
						if k == "error" && d.kind(y) == '"' {
							r.Error = d.str(y)
						}
						return nil
					})
				case "request_args":
					if im.Source.Model == "" && d.kind(x) == '"' {
						if mm := guidellmModel.FindStringSubmatch(d.str(x)); mm != nil {
							im.Source.Model = mm[1]
							im.note("The model is read from a request's body: GuideLLM's config does not name it.")
						}
					}
				case "request_type":
					if d.kind(x) == '"' {
						im.Source.Endpoint = d.str(x)
					}
				}
				return err
			})
			if r.Failed && r.Error == "" {
				r.Error = status
			}
			r.StartNs = int64(math.Round(startS * 1e9))
			im.Requests = append(im.Requests, r)
			return err
		})
	})
	if len(im.Requests) > 0 {
		im.RequestArrays = sortedKeys(fields)
		im.note(fmt.Sprintf("GuideLLM keeps a sample of the requests (--sample-requests): %d of them are here, "+
			"not every request of the benchmark.", len(im.Requests)))
	}
	return err
}
