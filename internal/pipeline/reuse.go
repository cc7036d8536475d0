package pipeline

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
)

// Reuse is what a run decides for its configs under the campaign's reuse
// policy (DESIGN 3): which it measures, and which a stored result stands in
// for, each with the reason, counted.
type Reuse struct {
	Measure []matrix.Config
	// Measured and Reused count the configs by reason.
	Measured map[string]int
	Reused   map[string]int
}

// Reasons a config is measured or reused.
const (
	WhyNew       = "no result stored"
	WhyOtherKind = "only results of another provenance stored"
	WhyEveryRun  = "measured again every run (reuse scope run)"
	WhyStale     = "stored result older than reuse.max_age"
	WhyForced    = "--force"
	WhyInRun     = "done in this run (resume)"
	WhyStored    = "stored result stands in (reuse scope any)"
	WhyRetry     = "queued for retry (llmsweep failures retry)"
)

// ReuseOptions say which stored results may stand in for a measurement.
type ReuseOptions struct {
	Policy campaign.Reuse
	// Run is the run the configs belong to: its own results always stand in.
	Run string
	// Engine is the engine's ID (runner.Engine.ID): results are looked up
	// under the identities this run would store them under.
	Engine string
	// Kind is the provenance of what this run stores: only results of that
	// kind, and of the policy's accept list, stand in.
	Kind  result.Kind
	Force bool
	Now   time.Time
}

// Decide applies the reuse policy to configs, looking the stored results up in
// st (nil: a store with no results yet). A prediction or an import stands in
// for a measurement only when the policy accepts it.
func Decide(ctx context.Context, st store.Store, configs []matrix.Config, o ReuseOptions) (*Reuse, error) {
	out := &Reuse{Measured: map[string]int{}, Reused: map[string]int{}}
	if o.Force {
		out.Measure = configs
		out.Measured[WhyForced] = len(configs)
		return out, nil
	}
	maxAge, err := o.Policy.MaxAgeDuration()
	if err != nil {
		return nil, err
	}
	accept := map[result.Kind]bool{o.Kind: true}
	for _, k := range o.Policy.Accept {
		accept[result.Kind(k)] = true
	}
	ids := make([]string, len(configs))
	for i := range configs {
		ids[i] = result.Identity(configs[i].Fingerprint, o.Engine)
	}
	have := map[string]store.Stored{}
	if st != nil {
		if have, err = st.StoredResults(ctx, o.Run, ids); err != nil {
			return nil, err
		}
	}
	now := cmp.Or(o.Now, time.Now())
	for i, cfg := range configs {
		why, reuse := decide(have[ids[i]], accept, o.Policy.Scope, maxAge, now)
		if reuse {
			out.Reused[why]++
			continue
		}
		out.Measured[why]++
		out.Measure = append(out.Measure, cfg)
	}
	return out, nil
}

func decide(s store.Stored, accept map[result.Kind]bool, scope string, maxAge time.Duration, now time.Time) (string, bool) {
	if s.InRun {
		return WhyInRun, true
	}
	if s.Retry { // a person asked: no stored result stands in
		return WhyRetry, false
	}
	var newest time.Time
	for k, t := range s.Newest {
		if accept[k] && t.After(newest) {
			newest = t
		}
	}
	switch {
	case len(s.Newest) == 0:
		return WhyNew, false
	case newest.IsZero():
		return WhyOtherKind, false
	case scope != campaign.ReuseAny:
		return WhyEveryRun, false
	case maxAge > 0 && now.Sub(newest) > maxAge:
		return WhyStale, false
	}
	return WhyStored, true
}

// String says what was decided, for people: "3 measured (2 no result stored,
// 1 stored result older than reuse.max_age); 5 reused (stored result stands in)".
func (r *Reuse) String() string {
	part := func(verb string, m map[string]int) string {
		n := 0
		var why []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			n += m[k]
			why = append(why, fmt.Sprintf("%d %s", m[k], k))
		}
		if n == 0 {
			return fmt.Sprintf("0 %s", verb)
		}
		return fmt.Sprintf("%d %s (%s)", n, verb, strings.Join(why, ", "))
	}
	return part("measured", r.Measured) + "; " + part("reused", r.Reused)
}
