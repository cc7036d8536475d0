package benchfmt

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/llmsweep/llmsweep/internal/metrics"
)

// vLLM writes its statistics as <stat>_<metric>_ms, with a p<percentile>
// key for each --metric-percentiles value (str(int(p)) when whole: p99,
// p99.9), for the metrics --percentile-metrics selects.
var vllmStatKey = regexp.MustCompile(`^(mean|median|std|p(\d+(?:\.\d+)?))_(ttft|tpot|itl|e2el|client_queue_time|e2el_including_client_queue)_ms$`)

// vllmDate is the layout of vLLM's "date": datetime.now().strftime("%Y%m%d-%H%M%S").
const vllmDate = "20060102-150405"

// Notes that hold for every vLLM result.
var vllmNotes = []string{
	"TTFT: vLLM stops the clock at the first streamed chunk that carries choices, even an empty one " +
		"(a chat stream's role-only first delta); ours waits for the first content chunk " +
		"(vllm/benchmarks/lib/endpoint_request_func.py). E2E ends at the last such chunk, as ours.",
	"ITL: vLLM pools the gaps between those chunks over requests, as ours does, empty chunks included.",
	"TPOT, goodput and the statistics are defined as ours: TPOT is each request's (E2E − TTFT) / (output tokens − 1), " +
		"for requests with more than one token, then averaged; goodput's SLOs are inclusive, and a one-token request " +
		"passes a TPOT SLO; numpy's mean, median, population std and linearly interpolated percentiles.",
	"duration: vLLM times from before the first send to after the last request returns, failures included " +
		"(time.perf_counter around asyncio.gather in vllm/benchmarks/serve.py); ours runs from the first send " +
		"to the last completion. Every throughput divides by it.",
	"Output tokens are the server's usage count where it reports one; otherwise vLLM re-tokenizes the " +
		"generated text (or counts 1 without a tokenizer), where ours counts content chunks. Input tokens are " +
		"the server's prompt_tokens where reported, else the dataset's count (serve.py calculate_metrics).",
}

// vllmFigures are numbers vLLM writes that no Summary field holds: kept in
// Extra without a note.
var vllmFigures = map[string]bool{"max_output_tokens_per_s": true, "max_concurrent_requests": true, "rtfx": true,
	"total_input_sequences": true}

// vllm decodes a `vllm bench serve` result object. Any field may be
// missing: forks of benchmark_serving.py leave some out.
func (d *doc) vllm(v val) (*Imported, error) {
	im := &Imported{Format: VLLM, Source: Meta{Tool: "vllm bench serve"}}
	s := &im.Summary
	var (
		seen        = map[string]bool{}
		arrays      = map[string]val{}
		goodput     float64
		haveGoodput bool
		legacyGood  bool
		fewerPct    bool
		turnKeys    []string
		params      []string
		err         error
	)
	statOf := func(metric string) (*metrics.Stats, string) {
		switch metric {
		case "ttft":
			return &s.TTFT, "ttft_ms"
		case "tpot":
			return &s.TPOT, "tpot_ms"
		case "itl":
			return &s.ITL, "itl_ms"
		case "e2el":
			return &s.E2E, "e2e_ms"
		case "e2el_including_client_queue":
			if s.E2EScheduled == nil {
				s.E2EScheduled = &metrics.Stats{}
			}
			return s.E2EScheduled, "e2e_scheduled_ms"
		default: // client_queue_time
			if s.SendLag == nil {
				s.SendLag = &metrics.Stats{}
			}
			return s.SendLag, "send_lag_ms"
		}
	}
	err = d.Object(v, func(key string, m val) error {
		seen[key] = true
		var err error
		switch key {
		case "date":
			if im.Source.Date, err = d.String(m); err == nil {
				if t, ok := parseDate(im.Source.Date); ok {
					im.Source.Time = t
				} else {
					im.note(fmt.Sprintf("date %q is neither vLLM's %%Y%%m%%d-%%H%%M%%S nor RFC 3339: kept as text only", im.Source.Date))
				}
			}
		case "backend":
			im.Source.Backend, err = d.String(m)
		case "endpoint_type": // the same as backend, kept for old readers
			var b string
			if b, err = d.String(m); err == nil && im.Source.Backend == "" {
				im.Source.Backend = b
			}
		case "label":
			im.Source.Label, err = d.OptString(m)
		case "model_id":
			im.Source.Model, err = d.String(m)
		case "tokenizer_id":
			im.Source.Tokenizer, err = d.OptString(m)
		case "num_prompts":
			im.Source.NumPrompts, err = d.count(m)
		case "request_rate":
			if d.kind(m) == '"' && !d.isSpecial(m) {
				if d.str(m) != "inf" {
					return d.want(m, `a number or "inf"`)
				}
				im.Source.RequestRate = math.Inf(1)
				return nil
			}
			im.Source.RequestRate, err = d.float(m, `a number or "inf"`)
		case "burstiness":
			im.Source.Burstiness, err = d.Float(m)
		case "max_concurrency":
			var n int64
			n, _, err = d.OptInt(m)
			im.Source.Concurrency = int(n)
		case "duration":
			err = into(&s.DurationS)(d.Float(m))
			im.mark("duration_s")
		case "completed":
			s.Succeeded, err = d.count(m)
			im.mark("succeeded")
		case "failed":
			s.Failed, err = d.count(m)
			im.mark("failed")
		case "total_input_tokens":
			s.InputTokens, err = d.Int(m)
			im.mark("input_tokens")
		case "total_output_tokens":
			s.OutputTokens, err = d.Int(m)
			im.mark("output_tokens")
		case "request_throughput":
			err = into(&s.RequestThroughput)(d.Float(m))
			im.mark("request_throughput")
		case "output_throughput":
			err = into(&s.OutputThroughput)(d.Float(m))
			im.mark("output_throughput")
		case "total_token_throughput":
			err = into(&s.TotalTokenThroughput)(d.Float(m))
			im.mark("total_token_throughput")
		case "request_goodput", "request_goodput:": // the old script's key had a stray colon
			legacyGood = legacyGood || key == "request_goodput:"
			goodput, haveGoodput, err = d.OptFloat(m)
		case "input_lens", "output_lens", "ttfts", "itls", "latencies", "start_times", "queue_times",
			"generated_texts", "errors":
			if d.kind(m) != '[' {
				return d.want(m, "an array")
			}
			arrays[key] = m
		default:
			sm := vllmStatKey.FindStringSubmatch(key)
			if sm == nil {
				if multiTurn.MatchString(key) {
					turnKeys = append(turnKeys, key)
				}
				switch {
				case d.kind(m) == '"' && !d.isSpecial(m):
					im.Source.label(key, d.str(m)) // --metadata KEY=VALUE
				case d.kind(m) == '0' || d.isSpecial(m):
					f, err := d.Float(m)
					if err != nil {
						return err
					}
					im.extra(key, f) // a sweep's parameters (vllm bench sweep), peak figures
					if !vllmFigures[key] {
						params = append(params, key)
					}
				case d.kind(m) == 't' || d.kind(m) == 'f':
					im.Source.label(key, string(d.src[m.at:m.end]))
				}
				return nil
			}
			f, err := d.Float(m)
			if err != nil {
				return err
			}
			stat, metric := sm[1], sm[3]
			if pct := sm[2]; pct != "" {
				switch pct {
				case "50", "90", "95", "99":
				default:
					im.extra(key, f)
					return nil
				}
			}
			st, name := statOf(metric)
			im.setStat(st, name, stat, f)
			if stat == "median" && !im.present[name+".p50"] {
				st.P50 = metrics.Of(f) // numpy's median is its 50th percentile
				im.mark(name + ".p50")
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var absent []string
	for _, k := range []string{"duration", "completed", "request_throughput"} {
		if !seen[k] {
			absent = append(absent, k)
		}
	}
	if len(absent) > 0 {
		im.note(fmt.Sprintf("The file has no %s (a benchmark_serving.py fork's output): those figures are unset.", strings.Join(absent, ", ")))
	}
	switch {
	case seen["failed"] && seen["completed"]:
		s.Requests = s.Succeeded + s.Failed
		im.mark("requests")
	case seen["completed"] && im.Source.NumPrompts >= s.Succeeded && seen["num_prompts"]:
		// benchmark_serving.py before "failed" sent every prompt and
		// counted the successes as completed.
		s.Requests, s.Failed = im.Source.NumPrompts, im.Source.NumPrompts-s.Succeeded
		im.mark("requests")
		im.mark("failed")
		im.note(fmt.Sprintf("requests is num_prompts (%d) and failed num_prompts − completed: the file has no failed count.", s.Requests))
	}
	for _, k := range []string{"framework", "server", "engine", "server_framework"} {
		if f := im.Source.Labels[k]; f != "" && im.Source.Server == "" {
			im.Source.Server = f
		}
	}
	for _, k := range []string{"server_version", "framework_version", "engine_version", "vllm_version", "version"} {
		if v := im.Source.Labels[k]; v != "" && im.Source.ServerVersion == "" {
			im.Source.ServerVersion = v
		}
	}
	if len(params) > 0 {
		im.note(fmt.Sprintf("Kept in Extra, with no Summary field: %s (a sweep's parameters, or figures of a later vLLM).", strings.Join(params, ", ")))
	}
	if len(turnKeys) > 0 {
		im.note(fmt.Sprintf("Multi-turn fields %s have no Summary field: they are kept (Extra, Labels), not mapped.", strings.Join(turnKeys, ", ")))
	}
	if haveGoodput {
		s.Goodput = metrics.Of(goodput)
		im.mark("goodput")
		if d, ok := s.DurationS.Get(); ok {
			s.GoodRequests = int(math.Round(goodput * d))
			im.mark("good_requests")
			im.note("good_requests is derived as request_goodput × duration, rounded: vLLM writes only the rate.")
		}
	} else if seen["request_goodput"] || seen["request_goodput:"] {
		im.note("request_goodput is null: the run set no --goodput SLO, so goodput is unset.")
	}
	if legacyGood {
		im.note(`request_goodput was read from the key "request_goodput:", as benchmarks/benchmark_serving.py misspelt it.`)
	}
	im.Notes = append(slices.Clone(vllmNotes), im.Notes...)
	if err := d.vllmRequests(im, arrays); err != nil {
		return nil, err
	}
	// Sample counts: vLLM writes none, but TTFT and E2E have one sample per
	// completed request, and the arrays give TPOT's and ITL's.
	for _, c := range []struct {
		st   *metrics.Stats
		name string
	}{{&s.TTFT, "ttft_ms"}, {&s.E2E, "e2e_ms"}, {s.E2EScheduled, "e2e_scheduled_ms"}, {s.SendLag, "send_lag_ms"}} {
		if c.st != nil && im.present[c.name+".mean"] && im.present["succeeded"] {
			c.st.N = s.Succeeded
			im.mark(c.name + ".n")
		}
	}
	for _, m := range []struct{ name, what string }{
		{"ttft_ms", "TTFT"}, {"tpot_ms", "TPOT"}, {"itl_ms", "ITL"}, {"e2e_ms", "E2E"},
	} {
		if !im.present[m.name+".mean"] {
			why := "it was not in --percentile-metrics (default ttft,tpot,itl) or the run had no tokenizer"
			if m.name == "e2e_ms" {
				why = "vLLM writes e2el only when --percentile-metrics selects it"
			}
			im.note(fmt.Sprintf("%s statistics are absent: %s.", m.what, why))
			continue
		}
		for _, p := range []string{"p90", "p95", "p99"} {
			if !im.present[m.name+"."+p] {
				fewerPct = true
			}
		}
	}
	if fewerPct {
		im.note("Percentiles vLLM was not asked for (--metric-percentiles, default 99) are unset; Missing lists them.")
	}
	im.note("vLLM writes no min, max or sample counts: N is the completed count for TTFT and E2E; for TPOT and ITL it comes from the per-request arrays, where the file has them.")
	if s.E2EScheduled != nil {
		im.note("e2e_scheduled_ms is vLLM's e2el_including_client_queue: from when its generator released the request, at the scheduled time unless the client lagged, to the last chunk.")
	}
	if s.SendLag != nil {
		im.note("send_lag_ms is vLLM's client_queue_time: the wait for a --max-concurrency slot, successful requests only.")
	}
	if seen["total_input_sequences"] {
		im.note("A pooling (embedding) result: total_token_throughput counts input tokens only.")
	}
	return im, nil
}

// vllmRequests turns the per-request arrays into Requests.
func (d *doc) vllmRequests(im *Imported, arrays map[string]val) error {
	if len(arrays) == 0 {
		return nil
	}
	order := []string{"input_lens", "output_lens", "ttfts", "itls", "latencies", "start_times", "queue_times", "generated_texts", "errors"}
	var reqs []Request
	n, first := -1, ""
	for _, k := range order {
		a, ok := arrays[k]
		if !ok {
			continue
		}
		im.RequestArrays = append(im.RequestArrays, k)
		c := 0
		err := d.elems(a, func(i int, e val) error {
			c++
			if n < 0 {
				reqs = append(reqs, Request{})
			} else if i >= n {
				return nil // only counted, for the error below
			}
			r := &reqs[i]
			var err error
			switch k {
			case "input_lens":
				r.InputTokens, err = d.Int(e)
			case "output_lens":
				r.OutputTokens, err = d.Int(e)
			case "ttfts":
				r.TTFTms, err = d.Float(e)
				r.TTFTms *= 1000
			case "itls":
				r.ITLms, err = d.Floats(e)
				for j := range r.ITLms {
					r.ITLms[j] *= 1000
				}
			case "latencies":
				r.E2Ems, err = d.Float(e)
				r.E2Ems *= 1000
			case "start_times":
				r.StartS, err = d.Float(e)
			case "queue_times":
				r.QueueMs, err = d.Float(e)
				r.QueueMs *= 1000
			case "generated_texts":
				r.Text, err = d.String(e)
			case "errors":
				r.Error, err = d.String(e)
			}
			return err
		})
		if err != nil {
			return err
		}
		if n < 0 {
			n, first = c, k
		} else if c != n {
			return d.errorAt(a.at, k, fmt.Sprintf("has %d values, %s has %d", c, first, n))
		}
	}
	_, hasTTFT := arrays["ttfts"]
	_, hasOut := arrays["output_lens"]
	_, hasITL := arrays["itls"]
	failed, tpotN, itlN := 0, 0, 0
	_, hasErrors := arrays["errors"]
	_, hasLatencies := arrays["latencies"]
	for i := range reqs {
		r := &reqs[i]
		// Without ttfts or errors (vLLM keeps latencies without
		// --save-detailed), a failed request shows as a latency of 0.
		r.Failed = r.Error != "" || hasTTFT && r.TTFTms == 0 || !hasTTFT && !hasErrors && hasLatencies && r.E2Ems == 0
		if r.Failed {
			failed++
			continue
		}
		if r.OutputTokens > 1 {
			tpotN++
		}
		itlN += len(r.ITLms)
	}
	im.Requests = reqs
	s := &im.Summary
	if !im.present["requests"] && n >= s.Succeeded {
		s.Requests = n
		s.Failed = n - s.Succeeded
		im.mark("requests")
		im.mark("failed")
		im.note("requests and failed are derived from the length of the per-request arrays: the file has no failed count.")
	}
	if _, ok := arrays["errors"]; ok && hasTTFT && failed != s.Failed {
		im.note(fmt.Sprintf("The per-request arrays show %d failed requests, the summary %d.", failed, s.Failed))
	}
	if hasOut && hasTTFT && im.present["tpot_ms.mean"] {
		s.TPOT.N = tpotN
		im.mark("tpot_ms.n")
	}
	if hasITL && hasTTFT && im.present["itl_ms.mean"] {
		s.ITL.N = itlN
		im.mark("itl_ms.n")
	}
	im.note("Per-request times are converted from vLLM's seconds to milliseconds.")
	return nil
}
