package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/llmsweep/llmsweep/internal/accuracy"
	"github.com/llmsweep/llmsweep/internal/monitoring"
	"github.com/llmsweep/llmsweep/internal/runlog"
)

// serveMetrics starts the --metrics-addr endpoint of run and exec; it stops
// with ctx. An empty addr serves nothing and returns nil metrics, which are
// safe to use.
func serveMetrics(ctx context.Context, addr, campaign string, stderr io.Writer) (*monitoring.Metrics, error) {
	if addr == "" {
		return nil, nil
	}
	m := monitoring.New(campaign)
	bound, err := monitoring.Serve(ctx, addr, m)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	fmt.Fprintf(stderr, "metrics on http://%s/metrics\n", bound)
	return m, nil
}

// observeAccuracy sets recommendation_accuracy from the run's results that
// carry an accuracy check.
func observeAccuracy(m *monitoring.Metrics, log *runlog.Log) {
	if m == nil {
		return
	}
	results, err := log.Results()
	if err != nil {
		return
	}
	var acc []float64
	for _, r := range results {
		if len(r.Accuracy) == 0 {
			continue
		}
		var a accuracy.Result
		if json.Unmarshal(r.Accuracy, &a) == nil {
			acc = append(acc, a.Accuracy)
		}
	}
	m.SetAccuracy(acc)
}
