package sim

import (
	"fmt"
	"strings"
	"testing"
)

const oldHeader = "id,framework,framework_version,gpu,gpu_count,model_hf,quantization,input_tokens,output_tokens,concurrency,request_rate,metric,value,unit,source_url,citation,notes\n"

// A file in the format before the optional columns reads as it did: the
// batching follows from the load, the source from the URL (a GitHub page at
// two commits is one source), the request count from the notes.
func TestReadPointsOldFormat(t *testing.T) {
	set := catalogSet(t)
	csv := oldHeader +
		"a1,tensorrt-llm,1.0,H100-SXM5-80GB,1,meta-llama/Llama-3.1-8B-Instruct,fp8,128,128,,inf,output_tok_s,27911,tok/s,https://github.com/NVIDIA/TensorRT-LLM/blob/00f3768/docs/perf.md,c,\"30000 requests\"\n" +
		"a2,vllm,0.6,H100-SXM5-80GB,1,meta-llama/Llama-3.1-8B-Instruct,fp16,200,100,8,,tpot_ms,7.5,ms,https://github.com/NVIDIA/TensorRT-LLM/blob/138f96d/docs/perf.md,c,n\n" +
		"a3,tgi,2.1,A100-SXM4-80GB,1,meta-llama/Meta-Llama-3-8B,fp16,202,130,,4,ttft_ms,108.7,ms,https://buildkite.com/vllm/builds/4068?x=1#y,c,\"500 ShareGPT prompts\"\n"
	points, skipped, err := ReadPoints(strings.NewReader(csv), "old.csv", set)
	if err != nil || len(skipped) > 0 || len(points) != 3 {
		t.Fatalf("%d points, skipped %v, err %v", len(points), skipped, err)
	}
	a1, a2, a3 := points[0], points[1], points[2]
	if a1.Framework != "trtllm" || a1.Batching != BatchOffline || a1.Load.Requests != maxSimRequests || a1.Load.Concurrency != maxSimRequests {
		t.Errorf("a1: framework %s, batching %s, %d requests at concurrency %d", a1.Framework, a1.Batching, a1.Load.Requests, a1.Load.Concurrency)
	}
	if a2.Batching != BatchContinuous || a2.Load.Static || a2.Load.Concurrency != 8 || a2.Load.Requests != 500 {
		t.Errorf("a2: batching %s, static %v, concurrency %d, %d requests", a2.Batching, a2.Load.Static, a2.Load.Concurrency, a2.Load.Requests)
	}
	if a1.Source != "github.com/NVIDIA/TensorRT-LLM/docs/perf.md" || a2.Source != a1.Source {
		t.Errorf("sources %q and %q, want one without the commit", a1.Source, a2.Source)
	}
	if a3.Source != "buildkite.com/vllm/builds/4068" || a3.Load.Rate != 4 || a3.Load.Requests != 500 {
		t.Errorf("a3: source %q, rate %g, %d requests", a3.Source, a3.Load.Rate, a3.Load.Requests)
	}
}

// The optional columns, in any order: a static batch, an explicit source and
// request count, an FP8 KV cache and a scheduler round.
func TestReadPointsOptionalColumns(t *testing.T) {
	set := catalogSet(t)
	csv := "source,id,framework,framework_version,gpu,gpu_count,model_hf,quantization,input_tokens,output_tokens,concurrency,request_rate,metric,value,unit,source_url,citation,notes,batching,tool,requests,kv_cache,scheduler_steps\n" +
		"doc-a,s1,trtllm,0.6.1,H100-SXM5-80GB,1,meta-llama/Llama-2-7b-hf,fp8,128,128,64,,output_tok_s,19694,tok/s,https://example.com/a,c,n,static,gptSessionBenchmark,,fp8,\n" +
		"doc-a,s2,vllm,0.6.0,A100-SXM4-80GB,1,meta-llama/Llama-3.1-8B-Instruct,fp16,224,189,,4,ttft_ms,100.48,ms,https://example.com/a,c,n,continuous,sglang.bench_serving,1200,,10\n"
	points, skipped, err := ReadPoints(strings.NewReader(csv), "new.csv", set)
	if err != nil || len(skipped) > 0 || len(points) != 2 {
		t.Fatalf("%d points, skipped %v, err %v", len(points), skipped, err)
	}
	s1, s2 := points[0], points[1]
	if !s1.Load.Static || s1.Load.Concurrency != 64 || s1.Quant.KVBits != 8 || s1.Tool != "gptSessionBenchmark" || s1.Source != "doc-a" {
		t.Errorf("s1: static %v, concurrency %d, kv bits %d, tool %q, source %q", s1.Load.Static, s1.Load.Concurrency, s1.Quant.KVBits, s1.Tool, s1.Source)
	}
	if s2.Load.Requests != 1200 || s2.Load.AdmitSteps != 10 || s2.Quant.KVBits != 16 {
		t.Errorf("s2: %d requests, admit steps %d, kv bits %d", s2.Load.Requests, s2.Load.AdmitSteps, s2.Quant.KVBits)
	}
	for _, p := range points {
		if _, err := p.Predict(Efficiency{MFU: 0.5, MBU: 0.7}); err != nil {
			t.Errorf("%s: %v", p.ID, err)
		}
	}
}

// Bad input is an error naming the file, the line and what is wrong.
func TestReadPointsErrors(t *testing.T) {
	set := catalogSet(t)
	row := func(over map[string]string) string {
		v := map[string]string{"id": "p1", "framework": "vllm", "framework_version": "1", "gpu": "H100-SXM5-80GB", "gpu_count": "1",
			"model_hf": "meta-llama/Llama-2-7b-hf", "quantization": "fp16", "input_tokens": "128", "output_tokens": "128", "concurrency": "1",
			"request_rate": "", "metric": "tpot_ms", "value": "7", "unit": "ms", "source_url": "u", "citation": "c", "notes": "n"}
		for k, x := range over {
			v[k] = x
		}
		var cells []string
		for _, h := range append(PointsHeader, PointsOptional...) {
			cells = append(cells, v[h])
		}
		return strings.Join(cells, ",") + "\n"
	}
	head := strings.Join(append(PointsHeader, PointsOptional...), ",") + "\n"
	for _, c := range []struct{ name, csv, want string }{
		{"unknown column", strings.TrimSuffix(oldHeader, "\n") + ",colour\n", `bad.csv:1: column 18, "colour", is not a points column`},
		{"twice", "id,id\n", `bad.csv:1: column 2, "id", appears twice`},
		{"missing", "id,framework\n", `bad.csv:1: column "framework_version" is missing`},
		{"batching", head + row(map[string]string{"batching": "dynamic"}), `bad.csv:2: p1: batching "dynamic" is not continuous, offline or static`},
		{"static rate", head + row(map[string]string{"batching": "static", "concurrency": "", "request_rate": "2"}), `bad.csv:2: p1: batching static with request_rate 2`},
		{"both loads", head + row(map[string]string{"request_rate": "2"}), `bad.csv:2: p1: concurrency "1" and request_rate "2" are both set`},
		{"kv", head + row(map[string]string{"kv_cache": "int4"}), `bad.csv:2: p1: kv_cache "int4" is not fp16, bf16, fp8 or int8`},
		{"requests", head + row(map[string]string{"requests": "-3"}), `bad.csv:2: p1: requests "-3" is not a positive integer`},
		{"steps", head + row(map[string]string{"scheduler_steps": "0"}), `bad.csv:2: p1: scheduler_steps "0" is not an integer in [1, 1000]`},
		{"metric", head + row(map[string]string{"metric": "e2e_ms"}), `bad.csv:2: p1: metric "e2e_ms" is not one of ttft_ms, tpot_ms, itl_ms, output_tok_s`},
		{"value", head + row(map[string]string{"value": "Inf"}), `bad.csv:2: p1: value "Inf" is not finite`},
		{"fields", head + "p1,vllm\n", fmt.Sprintf("bad.csv:2: 2 fields, want %d", len(PointsHeader)+len(PointsOptional))},
	} {
		_, _, err := ReadPoints(strings.NewReader(c.csv), "bad.csv", set)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

func TestSourceOf(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/o/r/blob/abc123/docs/x.md":     "github.com/o/r/docs/x.md",
		"https://github.com/o/r/tree/main/docs/":           "github.com/o/r/docs",
		"https://www.example.com/blog/post/?utm=1#table-2": "example.com/blog/post",
		"https://docs.nvidia.com/nim/benchmarking/perf.md": "docs.nvidia.com/nim/benchmarking/perf.md",
		"not a url": "not a url",
	} {
		if got := sourceOf(in); got != want {
			t.Errorf("sourceOf(%q) = %q, want %q", in, got, want)
		}
	}
}
