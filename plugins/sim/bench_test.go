package main

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"github.com/llmsweep/llmsweep/plugins/sdk"
	"github.com/llmsweep/llmsweep/plugins/sdk/loadgen"
	"github.com/llmsweep/llmsweep/plugins/sdk/stream"
)

// BenchmarkFidelity measures how closely the load generator's inter-token gaps
// follow the model's decode step through the emulated server, at batch 1 and 8
// (steps of 5.05 and 5.4 ms): it reports the median gap measured, the step
// predicted, and their ratio (1 is exact).
func BenchmarkFidelity(b *testing.B) {
	for _, c := range []int{1, 8} {
		b.Run("concurrency-"+strconv.Itoa(c), func(b *testing.B) {
			tm := testTiming()
			srv, err := StartServer("m", "", tm, Limits{})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			client := stream.NewClient(srv.URL)
			defer client.CloseIdleConnections()
			var gaps []int64
			for b.Loop() {
				spec := &sdk.BenchmarkSpec{BaseUrl: srv.URL, ServedModel: "m", Concurrency: int32(c), Requests: int32(4 * c), IgnoreEos: true,
					InputTokens: &sdk.Distribution{Kind: "fixed", Value: 64}, OutputTokens: &sdk.Distribution{Kind: "fixed", Value: 32}}
				if _, err := loadgen.Run(context.Background(), client, stream.OpenAICompletions, spec, func(r *sdk.Record) error {
					gaps = append(gaps, r.GetItlNs()...)
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			slices.Sort(gaps)
			measured := float64(gaps[len(gaps)/2]) / 1e6
			predicted := 1000 * tm.DecodeStepSeconds(c, 0)
			b.ReportMetric(measured, "ms-gap-measured")
			b.ReportMetric(predicted, "ms-step-predicted")
			b.ReportMetric(measured/predicted, "ratio")
		})
	}
}
