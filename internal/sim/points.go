package sim

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// PointsHeader is the required header of a published points file
// (testdata/published/points.csv). Columns may come in any order.
var PointsHeader = []string{"id", "framework", "framework_version", "gpu", "gpu_count", "model_hf", "quantization",
	"input_tokens", "output_tokens", "concurrency", "request_rate", "metric", "value", "unit", "source_url", "citation", "notes"}

// PointsOptional are the columns a points file may add; a file without them
// reads as before they existed.
//
//   - batching: continuous, static or offline (see the Batching constants);
//     empty means continuous, or offline for request_rate inf.
//   - tool: the client that measured (vllm bench serve, trtllm-bench, ...).
//   - source: the document the row was read from; cross-validation holds
//     out one source at a time. Empty means the source_url (a GitHub blob
//     URL without its commit, so that two commits of one page are one source).
//   - requests: the requests the run sent; empty means a number named in
//     notes ("1000 prompts"), else 500.
//   - kv_cache: the KV cache's type, fp16 (also bf16) or fp8 (also int8);
//     empty means the quantization's.
//   - scheduler_steps: decode steps the engine runs between two scheduling
//     rounds when not its default (vLLM's --num-scheduler-steps).
var PointsOptional = []string{"batching", "tool", "source", "requests", "kv_cache", "scheduler_steps"}

// Batching modes of a point.
const (
	// BatchContinuous is an online engine with continuous (in-flight)
	// batching under a concurrency or an arrival rate.
	BatchContinuous = "continuous"
	// BatchOffline is a continuous-batching engine given every request at
	// once: the maximum-load throughput runs.
	BatchOffline = "offline"
	// BatchStatic is a fixed batch that starts together and ends with its
	// longest request (TensorRT-LLM's gptSessionBenchmark, LMDeploy's
	// profile_generation): no request joins a running batch.
	BatchStatic = "static"
)

// Skipped is a row of a points file the model cannot use, and why.
type Skipped struct {
	ID     string `json:"id"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// maxSimRequests bounds the requests simulated for one point; published runs
// of thousands of requests are in steady state long before.
const maxSimRequests = 2000

var requestCount = regexp.MustCompile(`(\d[\d,]*) (?:ShareGPT )?(?:prompts|requests)`)

// StreamTokS is the most output tokens per second that a benchmark
// streaming its requests over HTTP from an OpenAI-compatible server
// measures, whatever the engine behind it could generate: the server's
// front end and the Python benchmark clients (vllm bench serve,
// sglang.bench_serving) handle every streamed token one by one. The
// published runs that send thousands of requests at once saturate at 3,700
// to 4,300 tokens/s for Llama 3.1 8B on one A100 and 70B on four H100s
// alike (sglang-benchmark-vllm060), and vLLM's maintainers name the OpenAI
// server layer's overhead (vllm-project/vllm issue 7935).
const StreamTokS = 4000

// inProcessTools are benchmark harnesses that call the engine in process,
// without streaming over HTTP (matched in lower case).
var inProcessTools = []string{"trtllm-bench", "gptsessionbenchmark", "profile_generation", "profile_throughput", "offline batch", "benchmark_throughput", "benchmark_latency"}

// streamed reports whether a point's tokens pass the stream ceiling
// (StreamTokS): an offline run (every request sent at once) streamed over
// HTTP, not an in-process harness. The ceiling is observed only in such
// runs; online runs at a concurrency or a rate, whose published throughputs
// here stay under a quarter of it, are left unbounded, so that a faster
// front end elsewhere is not capped by a constant from two sources.
func streamed(tool, batching string) bool {
	if batching != BatchOffline {
		return false
	}
	t := strings.ToLower(tool)
	for _, s := range inProcessTools {
		if strings.Contains(t, s) {
			return false
		}
	}
	return t != ""
}

// frameworkAliases maps names that published files use to the catalog's.
var frameworkAliases = map[string]string{"tensorrt-llm": "trtllm", "tensorrt_llm": "trtllm", "trt-llm": "trtllm"}

// ReadPoints reads a published points file. Rows the model cannot place (a
// GPU, model or quantization it does not know) are returned as skipped with the
// reason; a malformed file is an error naming the line and column.
func ReadPoints(r io.Reader, name string, set *campaign.Set) ([]Point, []Skipped, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.TrimSpace(h)
		if _, dup := col[h]; dup {
			return nil, nil, fmt.Errorf("%s:1: column %d, %q, appears twice", name, i+1, h)
		}
		if !slices.Contains(PointsHeader, h) && !slices.Contains(PointsOptional, h) {
			return nil, nil, fmt.Errorf("%s:1: column %d, %q, is not a points column (required: %s; optional: %s)", name, i+1, h,
				strings.Join(PointsHeader, ","), strings.Join(PointsOptional, ","))
		}
		col[h] = i
	}
	for _, h := range PointsHeader {
		if _, ok := col[h]; !ok {
			return nil, nil, fmt.Errorf("%s:1: column %q is missing (required: %s)", name, h, strings.Join(PointsHeader, ","))
		}
	}
	var points []Point
	var skipped []Skipped
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(head) {
			return nil, nil, fmt.Errorf("%s:%d: %d fields, want %d", name, line, len(rec), len(head))
		}
		row := map[string]string{}
		for h, i := range col {
			row[h] = strings.TrimSpace(rec[i])
		}
		p, why, err := point(row, set)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %s: %v", name, line, row["id"], err)
		}
		if why != "" {
			skipped = append(skipped, Skipped{ID: row["id"], Line: line, Reason: why})
			continue
		}
		points = append(points, p)
	}
	return points, skipped, nil
}

// point turns a row into a point: an error for a malformed value, a reason for
// a row the model cannot place.
func point(row map[string]string, set *campaign.Set) (Point, string, error) {
	p := Point{ID: row["id"], Framework: row["framework"], Metric: row["metric"], Util: 0.9, Tool: row["tool"]}
	if a, ok := frameworkAliases[p.Framework]; ok {
		p.Framework = a
	}
	num := func(k string) (float64, error) {
		v, err := strconv.ParseFloat(row[k], 64)
		if err != nil || math.IsNaN(v) || v <= 0 {
			return 0, fmt.Errorf("%s %q is not a positive number", k, row[k])
		}
		return v, nil
	}
	var err error
	if p.Value, err = num("value"); err != nil {
		return p, "", err
	}
	if math.IsInf(p.Value, 0) {
		return p, "", fmt.Errorf("value %q is not finite", row["value"])
	}
	if !slices.Contains(Metrics, p.Metric) {
		return p, "", fmt.Errorf("metric %q is not one of %s", p.Metric, strings.Join(Metrics, ", "))
	}
	in, err := num("input_tokens")
	if err != nil {
		return p, "", err
	}
	out, err := num("output_tokens")
	if err != nil {
		return p, "", err
	}
	if in > 1e7 || out > 1e7 {
		return p, "", fmt.Errorf("input_tokens %s or output_tokens %s is over 10,000,000", row["input_tokens"], row["output_tokens"])
	}
	gpus, err := strconv.Atoi(row["gpu_count"])
	if err != nil || gpus <= 0 || gpus > 1024 {
		return p, "", fmt.Errorf("gpu_count %q is not an integer in [1, 1024]", row["gpu_count"])
	}
	switch b := row["batching"]; b {
	case "", BatchContinuous, BatchOffline, BatchStatic:
		p.Batching = b
	default:
		return p, "", fmt.Errorf("batching %q is not %s, %s or %s", b, BatchContinuous, BatchOffline, BatchStatic)
	}
	kvBits := 0
	switch kv := row["kv_cache"]; kv {
	case "":
	case "fp16", "bf16":
		kvBits = 16
	case "fp8", "int8":
		kvBits = 8
	default:
		return p, "", fmt.Errorf("kv_cache %q is not fp16, bf16, fp8 or int8", kv)
	}
	if p.Source = row["source"]; p.Source == "" {
		p.Source = sourceOf(row["source_url"])
	}
	if p.Source == "" {
		p.Source = p.ID
	}

	n := 500
	if m := requestCount.FindStringSubmatch(row["notes"]); m != nil {
		if v, err := strconv.Atoi(strings.ReplaceAll(m[1], ",", "")); err == nil && v > 0 {
			n = v
		}
	}
	if s := row["requests"]; s != "" {
		if n, err = strconv.Atoi(s); err != nil || n <= 0 {
			return p, "", fmt.Errorf("requests %q is not a positive integer", s)
		}
	}
	l := Load{Input: campaign.Distribution{Kind: "fixed", Value: int(math.Round(in))}, Output: campaign.Distribution{Kind: "fixed", Value: int(math.Round(out))}}
	switch {
	case row["concurrency"] != "" && row["request_rate"] != "":
		return p, "", fmt.Errorf("concurrency %q and request_rate %q are both set; a run has one or the other", row["concurrency"], row["request_rate"])
	case row["concurrency"] != "":
		c, err := strconv.Atoi(row["concurrency"])
		if err != nil || c <= 0 {
			return p, "", fmt.Errorf("concurrency %q is not a positive integer", row["concurrency"])
		}
		l.Concurrency = c
		if row["requests"] == "" {
			n = max(n, 4*c)
		}
	case row["request_rate"] == "inf" || row["request_rate"] == "":
		// Every request queued at once (offline throughput runs).
		l.Concurrency = math.MaxInt32
		if p.Batching == "" {
			p.Batching = BatchOffline
		}
	default:
		r, err := num("request_rate")
		if err != nil {
			return p, "", err
		}
		if p.Batching == BatchStatic {
			return p, "", fmt.Errorf("batching static with request_rate %s: a static batch has a size (concurrency), not a rate", row["request_rate"])
		}
		l.Rate = r
		l.Burstiness = 1
	}
	if p.Batching == "" {
		p.Batching = BatchContinuous
	}
	l.Static = p.Batching == BatchStatic
	if st := row["scheduler_steps"]; st != "" {
		if l.AdmitSteps, err = strconv.Atoi(st); err != nil || l.AdmitSteps <= 0 || l.AdmitSteps > 1000 {
			return p, "", fmt.Errorf("scheduler_steps %q is not an integer in [1, 1000]", st)
		}
	}
	l.scheduleAs(p.Framework, row["framework_version"], row["gpu"])
	if streamed(p.Tool, p.Batching) {
		l.StreamTokS = StreamTokS
	}
	l.Requests = min(n, maxSimRequests)
	l.Concurrency = min(l.Concurrency, l.Requests)
	p.Load = l

	var ok bool
	if p.Model, ok = FindModel(set, row["model_hf"]); !ok {
		return p, fmt.Sprintf("no architecture for %s (not in the catalog nor among the built-in models)", row["model_hf"]), nil
	}
	if p.Hardware, ok = findHardware(set, row["gpu"], gpus); !ok {
		return p, fmt.Sprintf("no catalog hardware with gpu.model %s", row["gpu"]), nil
	}
	qn := row["quantization"]
	switch qn {
	case "int8", "w8a8":
		qn = "int8-w8a8"
	case "awq":
		qn = "int4-awq"
	case "gptq":
		qn = "int4-gptq"
	}
	if p.Quant, ok = set.Quantizations[qn]; !ok {
		return p, fmt.Sprintf("no catalog quantization %s", row["quantization"]), nil
	}
	if kvBits > 0 {
		p.Quant.KVBits = kvBits
	}
	return p, "", nil
}

// githubBlob matches a GitHub file URL pinned to a commit or a branch.
var githubBlob = regexp.MustCompile(`^github\.com/([^/]+/[^/]+)/(?:blob|tree|raw)/[^/]+/(.+)$`)

// sourceOf names the document a URL points at: scheme, query and fragment
// dropped, and a GitHub blob URL without its commit, so that two commits of
// one page count as one source.
func sourceOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	s := strings.TrimPrefix(u.Host, "www.") + strings.TrimSuffix(u.Path, "/")
	if m := githubBlob.FindStringSubmatch(s); m != nil {
		return "github.com/" + m[1] + "/" + m[2]
	}
	return s
}

// findHardware returns the catalog shape with that GPU and count, else one with
// that GPU resized to count (its interconnect and prices stay).
func findHardware(set *campaign.Set, gpu string, count int) (campaign.Hardware, bool) {
	var names []string
	for n, h := range set.Hardware {
		if h.GPU.Model == gpu {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return campaign.Hardware{}, false
	}
	sort.Strings(names)
	for _, n := range names {
		if set.Hardware[n].Count == count {
			return set.Hardware[n], true
		}
	}
	h := set.Hardware[names[len(names)-1]]
	h.Count = count
	return h, true
}
