// Package cache keeps query results of the store in Redis for the readers
// that ask the same questions again (dashboards, `llmsweep results` in CI),
// and drops a campaign's entries when a run of it changes the store: the
// pipeline's invalidate-cache step (DESIGN 6).
//
// Keys are <prefix><campaign>:<sha256 of the question>, where campaign is
// "_all" for questions about every campaign, which any run invalidates too.
// Entries also expire after a TTL, so a missed invalidation heals itself.
package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultPrefix namespaces the keys; the version changes when the encoding does.
const DefaultPrefix = "llmsweep:v1:"

// AllCampaigns is the namespace of questions about every campaign.
const AllCampaigns = "_all"

// DefaultTTL bounds how stale an entry can get without an invalidation.
const DefaultTTL = 24 * time.Hour

// Cache is a Redis-backed cache. It is safe for concurrent use.
type Cache struct {
	rdb    *redis.Client
	prefix string
	ttl    time.Duration

	hits, misses atomic.Int64
}

// Open connects to redis://[user:password@]host:port/db or rediss:// (TLS),
// and checks that the server answers.
func Open(ctx context.Context, url string) (*Cache, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("cache URL %q: %v (want redis://host:port/db or rediss://…)", redact(url), err)
	}
	opt.MaxRetries = 2
	c := &Cache{rdb: redis.NewClient(opt), prefix: DefaultPrefix, ttl: DefaultTTL}
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		c.rdb.Close()
		return nil, fmt.Errorf("cache %s: %w", redact(url), err)
	}
	return c, nil
}

// Dial makes a client for the Redis at url without waiting for it: a reader
// that must keep answering when Redis is down (the catalog service) starts
// anyway and reads the store meanwhile. Its dial timeout is short, since a
// slow cache is worse than none.
func Dial(url string) (*Cache, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("cache URL %q: %v (want redis://host:port/db or rediss://…)", redact(url), err)
	}
	opt.MaxRetries = 0
	opt.DialTimeout = 250 * time.Millisecond
	// A busy machine can delay a healthy Redis by hundreds of ms; a dead one
	// refuses at once, and the reader's circuit breaker stops asking a hung one.
	opt.ReadTimeout = time.Second
	opt.WriteTimeout = time.Second
	// One connection per concurrent reader the catalog service expects.
	opt.PoolSize = 64
	return &Cache{rdb: redis.NewClient(opt), prefix: DefaultPrefix, ttl: DefaultTTL}, nil
}

// WithTTL returns c with entries that expire after ttl.
func (c *Cache) WithTTL(ttl time.Duration) *Cache {
	return &Cache{rdb: c.rdb, prefix: c.prefix, ttl: ttl}
}

// Ping checks that Redis answers.
func (c *Cache) Ping(ctx context.Context) error { return c.rdb.Ping(ctx).Err() }

// WithPrefix returns c with its keys under another prefix (tests, several
// deployments sharing one Redis).
func (c *Cache) WithPrefix(p string) *Cache {
	return &Cache{rdb: c.rdb, prefix: p, ttl: c.ttl}
}

// Close closes the connection pool.
func (c *Cache) Close() error { return c.rdb.Close() }

func (c *Cache) key(campaign, question string) string {
	if campaign == "" {
		campaign = AllCampaigns
	}
	sum := sha256.Sum256([]byte(question))
	return c.prefix + campaign + ":" + hex.EncodeToString(sum[:])
}

// Get reads the answer to question into dst; ok is false on a miss.
func (c *Cache) Get(ctx context.Context, campaign, question string, dst any) (ok bool, err error) {
	b, err := c.rdb.Get(ctx, c.key(campaign, question)).Bytes()
	if errors.Is(err, redis.Nil) {
		c.misses.Add(1)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, dst); err != nil {
		// A corrupt entry is a miss, not an error: the store has the truth.
		c.misses.Add(1)
		return false, nil
	}
	c.hits.Add(1)
	return true, nil
}

// Put stores the answer to question.
func (c *Cache) Put(ctx context.Context, campaign, question string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.rdb.Set(ctx, c.key(campaign, question), b, c.ttl).Err()
}

// HitRatio is hits / (hits + misses) of this process's Gets, or 0 before any.
func (c *Cache) HitRatio() float64 {
	h, m := c.hits.Load(), c.misses.Load()
	if h+m == 0 {
		return 0
	}
	return float64(h) / float64(h+m)
}

// Invalidate deletes the entries of campaign and of questions about every
// campaign, and returns how many it deleted. It walks the keys with SCAN, so
// that Redis is never blocked as KEYS would block it, and deletes with UNLINK.
func (c *Cache) Invalidate(ctx context.Context, campaign string) (int, error) {
	n := 0
	for _, ns := range []string{campaign, AllCampaigns} {
		iter := c.rdb.Scan(ctx, 0, globEscape(c.prefix+ns+":")+"*", 500).Iterator()
		var batch []string
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			d, err := c.rdb.Unlink(ctx, batch...).Result()
			n += int(d)
			batch = batch[:0]
			return err
		}
		for iter.Next(ctx) {
			if batch = append(batch, iter.Val()); len(batch) == 500 {
				if err := flush(); err != nil {
					return n, err
				}
			}
		}
		if err := iter.Err(); err != nil {
			return n, err
		}
		if err := flush(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// globEscape quotes the characters SCAN's MATCH pattern treats specially.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\^-`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// redact hides a password in a URL for messages.
func redact(url string) string {
	at := strings.LastIndex(url, "@")
	scheme := strings.Index(url, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return url
	}
	return url[:scheme+3] + "…@" + url[at+1:]
}
