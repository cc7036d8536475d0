package runner_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/runner"
	"github.com/llmsweep/llmsweep/internal/store"
	"github.com/llmsweep/llmsweep/internal/store/storetest"
	"github.com/llmsweep/llmsweep/plugins/sdk/scriptserver"
)

// pgctl stops or starts the Debian cluster that listens on the test server's
// port: the machine's main one, or make test-timescale's TimescaleDB one.
func pgctl(t *testing.T, port, action string) {
	out, err := exec.Command("sh", "-c", "pg_ctlcluster --skip-systemctl-redirect $(pg_lsclusters -h | awk -v p="+port+" '$3 == p {print $1, $2; exit}') "+action).CombinedOutput()
	if err != nil {
		t.Logf("pg_ctlcluster %s: %v\n%s", action, err, out)
	}
}

// PostgreSQL stopped in the middle of a run and started again: the run log
// spools what the store missed, and the store ends with every result and
// record exactly once. It stops the test server (LLMSWEEP_TEST_POSTGRES, else
// the shared one), so it runs on its own: make test-outage and make
// test-timescale (LLMSWEEP_PG_OUTAGE=1), which .ci/run calls after make test.
func TestPostgresOutage(t *testing.T) {
	if os.Getenv("LLMSWEEP_PG_OUTAGE") == "" {
		t.Skip("stops the shared PostgreSQL: make test-outage runs it alone")
	}
	ctx := context.Background()
	base := storetest.ServerURL()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("outage_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	t.Cleanup(func() {
		pgctl(t, port, "start")
		if c, err := pgx.Connect(ctx, base); err == nil {
			c.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
			c.Close(ctx)
		}
	})
	st, err := store.Open(ctx, storetest.WithSearchPath(base, schema))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	info, err := store.Describe(ctx, storetest.WithSearchPath(base, schema))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("raw rows on %s: %s", info.Where, info.Layout)
	if os.Getenv("LLMSWEEP_TEST_TIMESCALE") != "" && info.Layout != "timescale" {
		t.Fatalf("make test-timescale, but the store's layout is %s", info.Layout)
	}

	// Its own campaign: the quickstart at eight load points, with 10 ms
	// between tokens, runs for several seconds, so that PostgreSQL is back
	// while the run still goes and the run itself catches the store up.
	srv := scriptserver.Start(scriptserver.Script{Delay: 15 * time.Millisecond})
	defer srv.Close()
	set, c, configs := outageCampaign(t)
	opt := options(t, srv.URL)
	opt.Store = st
	logs := &syncWriter{}
	opt.Logger = slog.New(slog.NewTextHandler(logs, nil))
	var ended atomic.Bool
	backInRun := make(chan bool, 1)
	go func() {
		for srv.Requests.Load() < 5 {
			time.Sleep(10 * time.Millisecond)
		}
		pgctl(t, port, "stop")
		// Back once the run has seen the store down, while it still goes.
		for deadline := time.Now().Add(time.Minute); !logs.contains(unavailable) && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
		pgctl(t, port, "start")
		waitReady(u.Hostname(), port)
		backInRun <- !ended.Load()
	}()
	rep, err := runner.Run(ctx, set, c, configs, opt)
	ended.Store(true)
	if !<-backInRun {
		t.Fatalf("the run (%+v, %v) ended before PostgreSQL was back: the mid-run recovery went unexercised; lengthen the outage campaign", rep, err)
	}
	if err != nil {
		t.Fatalf("report %+v: %v", rep, err)
	}
	results, err := st.Results(ctx, store.Filter{RunID: opt.Log.Run.ID})
	if err != nil || len(results) != len(configs) {
		t.Fatalf("%d results in PostgreSQL (%v), want %d", len(results), err, len(configs))
	}
	conn, err = pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows, distinct int
	q := "SELECT count(*), count(DISTINCT (config_key, idx)) FROM " + pgx.Identifier{schema, "requests"}.Sanitize()
	if err := conn.QueryRow(ctx, q).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != 20*len(configs) || distinct != rows {
		t.Errorf("%d request rows, %d distinct (config, index); want %d, none twice", rows, distinct, 20*len(configs))
	}
	if !logs.contains(unavailable) {
		t.Errorf("the outage was never seen by the run:\n%s", logs.String())
	}
}

// waitReady waits up to 30 s for the PostgreSQL at host:port to accept connections.
func waitReady(host, port string) {
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if err := exec.Command("pg_isready", "-q", "-h", host, "-p", port).Run(); err == nil || time.Now().After(deadline) {
			return
		}
	}
}

// outageCampaign is the quickstart at eight load points.
func outageCampaign(t *testing.T) (*campaign.Set, campaign.Campaign, []matrix.Config) {
	set, c, _ := quickstart(t)
	c.Name = "outage"
	c.Grid.Concurrency = []int{1, 2, 3, 4, 5, 6, 7, 8}
	var configs []matrix.Config
	x := &matrix.Compiler{Set: set}
	for _, m := range set.Select(c).Models {
		x.Model(c, m, func(g *matrix.Group) { configs = append(configs, g.Configs...) }, nil)
	}
	if len(configs) != 8 {
		t.Fatalf("the outage campaign has %d configs, want 8", len(configs))
	}
	return set, c, configs
}

// unavailable is what the runner logs when a flush to the store fails.
const unavailable = "results store unavailable; results stay spooled in the run log"

// syncWriter collects log lines from several goroutines.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(b)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncWriter) contains(x string) bool { return strings.Contains(s.String(), x) }
