package runner

import (
	"context"
	"fmt"
	"sync"

	"github.com/llmsweep/llmsweep/internal/runlog"
	"github.com/llmsweep/llmsweep/internal/store"
)

// flusher copies finished configs from the run log into the results store. The
// run log is the spool: it is written first, as requests complete, and survives
// crashes. The store gets each config once it is done; its writes are
// idempotent, so a store that is down is simply tried again after the next
// config, and at the end: nothing is lost and nothing is stored twice.
type flusher struct {
	st  store.Store
	log *runlog.Log

	mu      sync.Mutex
	created bool
	pending []string // fingerprints with a result in the log, not yet in the store
}

// newFlusher queues the log's results that the store does not have yet (a
// resumed run may have stopped while the store was down).
func newFlusher(ctx context.Context, st store.Store, log *runlog.Log) (*flusher, error) {
	f := &flusher{st: st, log: log}
	results, err := log.Results()
	if err != nil {
		return nil, err
	}
	for _, r := range results {
		if done, err := st.Done(ctx, log.Run.ID, r.Fingerprint); err != nil || !done {
			f.pending = append(f.pending, r.Fingerprint) // unknown counts as not stored
		}
	}
	return f, nil
}

func (f *flusher) add(fp string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = append(f.pending, fp)
}

// createRun stores the run once, on its first write: a run that never
// reached the store leaves no trace there.
func (f *flusher) createRun(ctx context.Context) error {
	if f.created {
		return nil
	}
	r := f.log.Run
	if _, err := f.st.CreateRun(ctx, store.Run{ID: r.ID, Campaign: r.Campaign, MatrixHash: r.MatrixHash,
		Configs: r.Configs, Started: r.Started, Engine: r.Engine}); err != nil {
		return err
	}
	f.created = true
	return nil
}

// flush stores the pending configs in order, and stops at the first error.
func (f *flusher) flush(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.pending) == 0 {
		return nil
	}
	if err := f.createRun(ctx); err != nil {
		return err
	}
	results, err := f.log.Results()
	if err != nil {
		return err
	}
	byFP := make(map[string]runlog.Result, len(results))
	for _, r := range results {
		byFP[r.Fingerprint] = r
	}
	for len(f.pending) > 0 {
		fp := f.pending[0]
		r, ok := byFP[fp]
		if !ok {
			return fmt.Errorf("config %s has no result in %s", fp, f.log.Dir)
		}
		recs, err := f.log.Records(fp)
		if err != nil {
			return err
		}
		if err := f.st.AppendRecords(ctx, f.log.Run.ID, fp, r.Attempts, recs); err != nil {
			return err
		}
		if err := f.st.PutResult(ctx, store.Result{RunID: f.log.Run.ID, Fingerprint: fp, Attempts: r.Attempts,
			Config: r.Config, Summary: r.Summary, Accuracy: r.Accuracy, ServedBy: r.ServedBy, Finished: r.Finished}); err != nil {
			return err
		}
		f.pending = f.pending[1:]
	}
	return nil
}

// finish stores the final failures and marks the run finished in the store.
func (f *flusher) finish(ctx context.Context, fails []runlog.Failure) error {
	if err := f.flush(ctx); err != nil {
		return err
	}
	if err := f.createRun(ctx); err != nil {
		return err
	}
	for _, fl := range fails {
		if err := f.st.PutFailure(ctx, store.Failure{RunID: f.log.Run.ID, Fingerprint: fl.Fingerprint, Attempt: fl.Attempt,
			Final: true, Reason: fl.Reason, Time: fl.Time}); err != nil {
			return err
		}
	}
	return nil
}
