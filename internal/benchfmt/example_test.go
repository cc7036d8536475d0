package benchfmt_test

import (
	"fmt"
	"os"
	"time"

	"github.com/llmsweep/llmsweep/internal/benchfmt"
	"github.com/llmsweep/llmsweep/internal/metrics"
)

func ExampleImport() {
	im, err := benchfmt.Import("testdata/real/aiperf/nvfp4_5090_agent_c2_profile_export_aiperf.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	s := im.Summary
	fmt.Println(im.Format, im.Source.Model, im.Source.Concurrency)
	fmt.Printf("%d of %d succeeded in %.1f s; TTFT p50 %.1f ms, TPOT p50 %.2f ms\n",
		s.Succeeded, s.Requests, s.DurationS, s.TTFT.P50, s.TPOT.P50)
	fmt.Println("not in the file:", im.Missing[:3])
	// Output:
	// aiperf qwen3.6-nvfp4 2
	// 96 of 96 succeeded in 128.7 s; TTFT p50 136.5 ms, TPOT p50 5.57 ms
	// not in the file: [goodput good_requests client_output_tokens]
}

func ExampleExportAIPerf() {
	s := metrics.Summary{Requests: 2, Succeeded: 2, DurationS: metrics.Of(1), RequestThroughput: metrics.Of(2),
		TTFT: metrics.Describe([]float64{80, 120})}
	meta := benchfmt.ExportMeta{Model: "m", Date: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Missing: []string{"input_tokens", "output_tokens", "errors"}}
	if err := benchfmt.ExportAIPerf(os.Stdout, meta, s); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {
	//   "schema_version": "1.0",
	//   "request_throughput": {
	//     "unit": "requests/sec",
	//     "avg": 2.0
	//   },
	//   "request_count": {
	//     "unit": "requests",
	//     "avg": 2.0
	//   },
	//   "time_to_first_token": {
	//     "unit": "ms",
	//     "avg": 100.0,
	//     "p50": 100.0,
	//     "p90": 116.0,
	//     "p95": 118.0,
	//     "p99": 119.6,
	//     "min": 80.0,
	//     "max": 120.0,
	//     "std": 20.0,
	//     "count": 2
	//   },
	//   "benchmark_duration": {
	//     "unit": "sec",
	//     "avg": 1.0
	//   },
	//   "error_request_count": {
	//     "unit": "requests",
	//     "avg": 0.0
	//   },
	//   "input_config": {
	//     "endpoint": {
	//       "model_names": [
	//         "m"
	//       ],
	//       "streaming": true
	//     },
	//     "loadgen": {}
	//   },
	//   "was_cancelled": false,
	//   "start_time": "2025-01-02T03:04:05.000000"
	// }
}
