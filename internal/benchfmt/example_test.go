package benchfmt_test

import (
	"fmt"
	"os"
	"time"

	"github.com/llmsweep/llmsweep/internal/benchfmt"
	"github.com/llmsweep/llmsweep/internal/metrics"
)

func ExampleImport() {
	im, err := benchfmt.Import("testdata/vllm_serve.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	s := im.Summary
	fmt.Println(im.Format, im.Source.Model, im.Source.RequestRate)
	fmt.Printf("%d of %d succeeded in %.2f s; TTFT mean %.1f ms, p99 %.1f ms\n",
		s.Succeeded, s.Requests, s.DurationS, s.TTFT.Mean, s.TTFT.P99)
	fmt.Println("not in the file:", im.Missing[:4])
	// Output:
	// vllm-bench-serve Qwen/Qwen2.5-7B-Instruct +Inf
	// 5 of 5 succeeded in 0.91 s; TTFT mean 246.2 ms, p99 265.2 ms
	// not in the file: [errors ttft_ms.p90 ttft_ms.p95 ttft_ms.min]
}

func ExampleExportVLLM() {
	s := metrics.Summary{Requests: 2, Succeeded: 2, DurationS: metrics.Of(1), RequestThroughput: metrics.Of(2),
		TTFT: metrics.Describe([]float64{80, 120})}
	meta := benchfmt.ExportMeta{Model: "m", Date: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := benchfmt.ExportVLLM(os.Stdout, meta, s); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"date": "20250102-030405", "endpoint_type": "openai", "backend": "openai", "label": null, "model_id": "m", "tokenizer_id": "m", "num_prompts": 2, "request_rate": "inf", "burstiness": 1.0, "max_concurrency": null, "duration": 1.0, "completed": 2, "failed": 0, "total_input_tokens": 0, "total_output_tokens": 0, "request_throughput": 2.0, "request_goodput": null, "mean_ttft_ms": 100.0, "median_ttft_ms": 100.0, "std_ttft_ms": 20.0, "p50_ttft_ms": 100.0, "p90_ttft_ms": 116.0, "p95_ttft_ms": 118.0, "p99_ttft_ms": 119.6}
}
