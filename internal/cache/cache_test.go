package cache

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

var ctx = context.Background()

// redisURL is the machine's Redis (.ci/run starts it); LLMSWEEP_REDIS overrides.
func redisURL() string {
	if u := os.Getenv("LLMSWEEP_REDIS"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// open connects with a prefix of the test's own, so that tests never see
// each other's keys, and removes those keys afterwards.
func open(t *testing.T) *Cache {
	t.Helper()
	c, err := Open(ctx, redisURL())
	if err != nil {
		t.Fatalf("Redis is needed (.ci/run starts it): %v", err)
	}
	c = c.WithPrefix(fmt.Sprintf("llmsweep-test:%s:%d:", t.Name(), time.Now().UnixNano()))
	t.Cleanup(func() {
		for _, ns := range []string{"a", "b", "w*ld", AllCampaigns} {
			c.Invalidate(ctx, ns)
		}
		c.Close()
	})
	return c
}

type answer struct {
	Rows []string
	N    int
}

func TestGetPut(t *testing.T) {
	c := open(t)
	var got answer
	if ok, err := c.Get(ctx, "a", "q1", &got); ok || err != nil {
		t.Fatalf("empty cache: ok=%v err=%v", ok, err)
	}
	want := answer{Rows: []string{"x", "y"}, N: 2}
	if err := c.Put(ctx, "a", "q1", want); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.Get(ctx, "a", "q1", &got); !ok || err != nil || got.N != 2 || strings.Join(got.Rows, ",") != "x,y" {
		t.Fatalf("got %+v ok=%v err=%v", got, ok, err)
	}
	if r := c.HitRatio(); r != 0.5 {
		t.Errorf("hit ratio %v, want 0.5 (one miss, one hit)", r)
	}
	// A corrupt entry is a miss.
	if err := c.rdb.Set(ctx, c.key("a", "bad"), "{not json", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.Get(ctx, "a", "bad", &got); ok || err != nil {
		t.Errorf("corrupt entry: ok=%v err=%v", ok, err)
	}
	if ttl := c.rdb.TTL(ctx, c.key("a", "q1")).Val(); ttl <= 0 || ttl > DefaultTTL {
		t.Errorf("TTL %v", ttl)
	}
}

func TestInvalidate(t *testing.T) {
	c := open(t)
	for i := range 1200 { // more than one SCAN page and one UNLINK batch
		if err := c.Put(ctx, "a", fmt.Sprint("q", i), i); err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range []string{"b", "", "w*ld"} {
		if err := c.Put(ctx, ns, "q", 1); err != nil {
			t.Fatal(err)
		}
	}
	n, err := c.Invalidate(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if n != 1201 { // a's entries and the one about every campaign
		t.Errorf("deleted %d, want 1201", n)
	}
	var v int
	if ok, _ := c.Get(ctx, "b", "q", &v); !ok {
		t.Error("campaign b's entry was deleted with a's")
	}
	if ok, _ := c.Get(ctx, "", "q", &v); ok {
		t.Error("the entry about every campaign survived")
	}
	// A campaign name with glob characters matches itself only.
	if err := c.Put(ctx, "wild", "q", 1); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Invalidate(ctx, "w*ld"); err != nil || n != 1 {
		t.Errorf("w*ld: deleted %d, err %v", n, err)
	}
	if ok, _ := c.Get(ctx, "wild", "q", &v); !ok {
		t.Error("invalidating w*ld deleted wild")
	}
}

func TestOpenErrors(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"http://x", `cache URL "http://x"`},
		{"redis://u:secret@127.0.0.1:1/0", "cache redis://…@127.0.0.1:1/0"},
	} {
		_, err := Open(ctx, c.url)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: err = %v, want it to contain %q and no password", c.url, err, c.want)
		}
	}
}
