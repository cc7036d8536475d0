package benchfmt

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/llmsweep/llmsweep/internal/metrics"
)

// Notes that hold for every inference-perf result (kubernetes-sigs/
// inference-perf, inference_perf/reportgen/base.py summarize_requests).
var infPerfNotes = []string{
	"inference-perf writes times in seconds; they are converted to milliseconds.",
	"TTFT runs to the first output token, E2E (request_latency) to the response's end. time_per_output_token is " +
		"(E2E − TTFT) / (output tokens − 1), as our TPOT; inter_token_latency pools the gaps between output tokens over " +
		"requests, as our ITL; normalized_time_per_output_token (E2E / output tokens) is kept in Extra.",
	"Output tokens are the server's usage count when --use-server-output-tokens was set, else inference-perf's tokenizer.",
	"inference-perf writes no benchmark duration: the throughputs are its own (requests_per_sec over the span of the " +
		"requests), and duration_s is unset; load_summary.send_duration, the time spent sending, is kept in Extra.",
	"inference-perf writes no std and no sample counts but for TTFT and E2E, whose samples are the successful requests.",
}

var infPerfLatency = map[string]string{
	"time_to_first_token": "ttft_ms", "time_per_output_token": "tpot_ms", "inter_token_latency": "itl_ms",
	"request_latency": "e2e_ms",
}

// infPerf decodes an inference-perf lifecycle summary (summary_, stage_N_ or
// adapter_ lifecycle_metrics.json).
func (d *doc) infPerf(v val) (*Imported, error) {
	im := &Imported{Format: InferencePerf, Source: Meta{Tool: "inference-perf"}}
	im.Notes = slices.Clone(infPerfNotes)
	s := &im.Summary
	sent, sentOK := 0, false
	err := d.Object(v, func(key string, m val) error {
		switch key {
		case "load_summary":
			return d.Object(m, func(k string, e val) error {
				switch k {
				case "count":
					var err error
					sent, err = d.count(e)
					sentOK = err == nil
					return err
				case "requested_rate":
					f, ok, err := d.OptFloat(e)
					if ok && f > 0 {
						im.Source.RequestRate = f
					}
					return err
				case "concurrency", "concurrency_level":
					n, ok, err := d.OptInt(e)
					if ok {
						im.Source.Concurrency = int(n)
					}
					return err
				case "send_duration", "achieved_rate":
					f, ok, err := d.OptFloat(e)
					if ok {
						im.extra("load_summary."+k, f)
					}
					return err
				}
				return nil
			})
		case "successes":
			return d.Object(m, func(k string, e val) error {
				switch k {
				case "count":
					n, err := d.count(e)
					s.Succeeded = n
					im.mark("succeeded")
					return err
				case "latency":
					return d.Object(e, func(name string, x val) error {
						field, ok := infPerfLatency[name]
						if !ok {
							return d.readStats(im, x, nil, "", 1, nil, "successes.latency."+name)
						}
						if d.isNull(x) {
							return nil
						}
						st := map[string]*metrics.Stats{"ttft_ms": &s.TTFT, "tpot_ms": &s.TPOT, "itl_ms": &s.ITL, "e2e_ms": &s.E2E}[field]
						return d.readStats(im, x, st, field, 1e3, infPerfStats, "successes.latency."+name)
					})
				case "throughput":
					return d.Object(e, func(name string, x val) error {
						f, ok, err := d.OptFloat(x)
						if !ok {
							return err
						}
						switch name {
						case "requests_per_sec":
							s.RequestThroughput = metrics.Of(f)
							im.mark("request_throughput")
						case "output_tokens_per_sec":
							s.OutputThroughput = metrics.Of(f)
							im.mark("output_throughput")
						case "total_tokens_per_sec":
							s.TotalTokenThroughput = metrics.Of(f)
							im.mark("total_token_throughput")
						default:
							im.extra("successes.throughput."+name, f)
						}
						return nil
					})
				case "prompt_len", "output_len":
					if d.isNull(e) {
						return nil
					}
					return d.readStats(im, e, nil, "", 1, nil, "successes."+k)
				}
				return nil
			})
		case "failures":
			return d.Object(m, func(k string, e val) error {
				if k != "count" {
					return nil
				}
				n, err := d.count(e)
				s.Failed = n
				im.mark("failed")
				return err
			})
		}
		if multiTurn.MatchString(key) {
			im.note(fmt.Sprintf("%s (a multi-turn session report) has no Summary field: it is not read.", key))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch {
	case im.present["succeeded"] && im.present["failed"]:
		s.Requests = s.Succeeded + s.Failed
		im.mark("requests")
		if sentOK && sent != s.Requests {
			im.note(fmt.Sprintf("load_summary counts %d requests sent, successes and failures %d.", sent, s.Requests))
		}
	case sentOK:
		s.Requests = sent
		im.mark("requests")
	}
	for _, c := range []struct {
		st   *metrics.Stats
		name string
	}{{&s.TTFT, "ttft_ms"}, {&s.E2E, "e2e_ms"}} {
		if im.present[c.name+".mean"] && im.present["succeeded"] {
			c.st.N = s.Succeeded
			im.mark(c.name + ".n")
		}
	}
	return im, nil
}

// infPerfRequests decodes per_request_lifecycle_metrics.json: an array of
// {start_time, end_time, request, response, info, error}, times in seconds
// of the client's monotonic clock; info holds the token counts and the
// output tokens' arrival times (flat before inference-perf 0.3,
// request_metrics/response_metrics since).
func (d *doc) infPerfRequests(v val) (*Imported, error) {
	im := &Imported{Format: InferencePerfRequests, Source: Meta{Tool: "inference-perf"}}
	fields := map[string]bool{}
	err := d.Array(v, func(_ int, e val) error {
		var r Request
		var start, end float64
		var tokens []float64
		err := d.Object(e, func(k string, x val) error {
			var err error
			switch k {
			case "start_time":
				start, err = d.Float(x)
			case "end_time":
				end, err = d.Float(x)
			case "request":
				if im.Source.Model == "" && d.kind(x) == '"' {
					var body struct {
						Model string `json:"model"`
					}
					if json.Unmarshal([]byte(d.str(x)), &body) == nil {
						im.Source.Model = body.Model
					}
				}
			case "error":
				if d.isNull(x) {
					return nil
				}
				r.Failed = true
				r.Error = "error"
				if d.kind(x) == '{' {
					err = d.Object(x, func(k string, y val) error {
						if (k == "error_msg" || k == "message") && d.kind(y) == '"' {
							r.Error = d.str(y)
						}
						return nil
					})
				}
			case "info":
				if d.isNull(x) {
					return nil
				}
				err = d.infPerfInfo(x, &r, &tokens, fields)
			}
			return err
		})
		if err != nil {
			return err
		}
		r.StartS = start
		r.E2Ems = (end - start) * 1e3
		if len(tokens) > 0 && !r.Failed {
			r.TTFTms = (tokens[0] - start) * 1e3
			for i := 1; i < len(tokens); i++ {
				r.ITLms = append(r.ITLms, (tokens[i]-tokens[i-1])*1e3)
			}
		}
		im.Requests = append(im.Requests, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	im.RequestArrays = sortedKeys(fields)
	summarizeRequests(im)
	im.note("inference-perf's per-request times: TTFT to the first output token's time, E2E to end_time, ITL the gaps " +
		"between output token times; start_time is the client's monotonic clock, placed from the run's start.")
	return im, nil
}

func (d *doc) infPerfInfo(x val, r *Request, tokens *[]float64, fields map[string]bool) error {
	return d.Object(x, func(k string, y val) error {
		var err error
		switch k {
		case "input_tokens":
			r.InputTokens, err = d.Int(y)
			fields["input_tokens"] = true
		case "output_tokens":
			r.OutputTokens, err = d.Int(y)
			fields["output_tokens"] = true
		case "output_token_times":
			*tokens, err = d.Floats(y)
			fields["output_token_times"] = true
		case "request_metrics", "response_metrics", "text":
			if d.kind(y) == '{' {
				err = d.infPerfInfo(y, r, tokens, fields)
			}
		}
		return err
	})
}
