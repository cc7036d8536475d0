package runner

import (
	"context"
	"sync"

	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/runlog"
	"github.com/llmsweep/llmsweep/internal/store"
	"github.com/llmsweep/llmsweep/internal/telemetry"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// flusher copies finished configs from the run log into the results store. The
// run log is the spool: it is written first, as requests complete, and survives
// crashes. The store gets each config once it is done; its writes are
// idempotent, so a store that is down is simply tried again after the next
// config, and at the end: nothing is lost and nothing is stored twice.
//
// A config's records and samples reach the flusher with its result, so a run
// that keeps up with its store never reads its log back. While the store is
// down they wait in memory up to maxHeld records; beyond that the oldest are
// dropped and read back from the log, which reads only their own lines
// (runlog.Records). Either way a run's flush work is linear in its records.
type flusher struct {
	st  store.Store
	log *runlog.Log

	mu      sync.Mutex
	created bool
	pending []pending // in the order the configs finished
	held    int       // records held in pending
}

// pending is a finished config not stored yet.
type pending struct {
	res     result.Result
	loaded  bool // recs and samples are here; else read them from the log
	recs    []*sdk.Record
	samples []telemetry.Sample
}

// maxHeld bounds the records waiting in memory for a store that is down.
var maxHeld = 200_000

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
			f.pending = append(f.pending, pending{res: r}) // unknown counts as not stored
		}
	}
	return f, nil
}

// add queues a finished config with its records and samples.
func (f *flusher) add(res result.Result, recs []*sdk.Record, samples []telemetry.Sample) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = append(f.pending, pending{res: res, loaded: true, recs: recs, samples: samples})
	f.held += len(recs)
	for i := 0; f.held > maxHeld && i < len(f.pending)-1; i++ {
		if p := &f.pending[i]; p.loaded {
			f.held -= len(p.recs)
			p.loaded, p.recs, p.samples = false, nil, nil
		}
	}
}

// createRun stores the run once, on its first write: a run that never
// reached the store leaves no trace there.
func (f *flusher) createRun(ctx context.Context) error {
	if f.created {
		return nil
	}
	if _, err := f.st.CreateRun(ctx, f.log.Run); err != nil {
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
	for len(f.pending) > 0 {
		p := &f.pending[0]
		fp := p.res.Fingerprint
		if !p.loaded {
			var err error
			if p.recs, err = f.log.Records(fp); err != nil {
				return err
			}
			if p.samples, err = f.log.Samples(fp); err != nil {
				return err
			}
			p.loaded = true
			f.held += len(p.recs)
		}
		if err := f.st.AppendRecords(ctx, f.log.Run.ID, fp, p.res.Attempts, p.recs); err != nil {
			return err
		}
		if err := f.st.PutSamples(ctx, f.log.Run.ID, fp, p.samples); err != nil {
			return err
		}
		// The result last: in the store, it marks the config done.
		if err := f.st.PutResult(ctx, p.res); err != nil {
			return err
		}
		f.log.Forget(fp)
		f.held -= len(p.recs)
		f.pending[0] = pending{}
		f.pending = f.pending[1:]
	}
	return nil
}

// finish stores the final failures of the configs still failed.
func (f *flusher) finish(ctx context.Context, fails []result.Failure) error {
	if err := f.flush(ctx); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.createRun(ctx); err != nil {
		return err
	}
	for _, fl := range fails {
		fl.Run = f.log.Run.ID
		if err := f.st.PutFailure(ctx, fl); err != nil {
			return err
		}
	}
	return nil
}
