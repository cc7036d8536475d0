package serve

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"github.com/llmsweep/llmsweep/internal/cache"
	"github.com/llmsweep/llmsweep/internal/monitoring"
)

// reader answers a question from the cache when it can and from the store
// otherwise, and then keeps the answer in the cache. A cache that fails is
// logged and skipped, never passed on: the store has the truth. After a few
// failures in a row a circuit breaker skips Redis for a while, so that a dead
// cache does not add its timeout to every request.
type reader struct {
	c   *cache.Cache
	log *slog.Logger
	cb  *gobreaker.CircuitBreaker[json.RawMessage]

	hits, misses, failures atomic.Int64
}

func newReader(c *cache.Cache, ttl time.Duration, log *slog.Logger) *reader {
	r := &reader{log: log}
	if c == nil {
		return r
	}
	r.c = c.WithTTL(ttl)
	r.cb = gobreaker.NewCircuitBreaker[json.RawMessage](gobreaker.Settings{
		Name:    "redis",
		Timeout: 5 * time.Second, // then one request tries Redis again
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= 3
		},
		OnStateChange: func(_ string, from, to gobreaker.State) {
			log.Warn("cache circuit breaker", "from", from.String(), "to", to.String())
		},
	})
	return r
}

var errMiss = errors.New("cache miss")

// read returns the JSON answer to question, computing it with compute on a
// miss. campaign is the cache namespace: the campaign the question is about,
// or "" for every campaign (which any run invalidates).
func (r *reader) read(ctx context.Context, campaign, question string, compute func() (any, error)) (json.RawMessage, error) {
	if r.c == nil {
		v, err := compute()
		if err != nil {
			return nil, err
		}
		return json.Marshal(v)
	}
	b, err := r.cb.Execute(func() (json.RawMessage, error) {
		var b json.RawMessage
		ok, err := r.c.Get(ctx, campaign, question, &b)
		switch {
		case err != nil:
			return nil, err
		case !ok:
			return nil, errMiss
		}
		return b, nil
	})
	switch {
	case err == nil:
		r.hits.Add(1)
		return b, nil
	case errors.Is(err, errMiss):
		r.misses.Add(1)
	default:
		r.failures.Add(1)
		if !errors.Is(err, gobreaker.ErrOpenState) && !errors.Is(err, gobreaker.ErrTooManyRequests) {
			r.log.Warn("cache read failed; reading the store", "err", err)
		}
	}
	v, err := compute()
	if err != nil {
		return nil, err
	}
	b, err = json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if _, err := r.cb.Execute(func() (json.RawMessage, error) {
		return nil, r.c.Put(ctx, campaign, question, b)
	}); err != nil && !errors.Is(err, gobreaker.ErrOpenState) && !errors.Is(err, gobreaker.ErrTooManyRequests) {
		r.log.Warn("cache write failed", "err", err)
	}
	return b, nil
}

// hitRatio is the share of reads the cache answered, over every read while a
// cache was configured (a read Redis could not answer counts as a miss).
func (r *reader) hitRatio() float64 {
	h := r.hits.Load()
	n := h + r.misses.Load() + r.failures.Load()
	if n == 0 {
		return 0
	}
	return float64(h) / float64(n)
}

func (r *reader) register(reg *prometheus.Registry) {
	if r.c == nil {
		return
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: monitoring.CacheHitRatio, Help: monitoring.Help(monitoring.CacheHitRatio)}, r.hitRatio),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: monitoring.CacheHits, Help: monitoring.Help(monitoring.CacheHits)},
			func() float64 { return float64(r.hits.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: monitoring.CacheMisses, Help: monitoring.Help(monitoring.CacheMisses)},
			func() float64 { return float64(r.misses.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: monitoring.CacheFailures, Help: monitoring.Help(monitoring.CacheFailures)},
			func() float64 { return float64(r.failures.Load()) }),
	)
}
