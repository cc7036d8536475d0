package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
	"github.com/llmsweep/llmsweep/internal/store/storetest"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

// store info and expire-raw on each backend: on make test-timescale's server
// the PostgreSQL case gets hypertables and the Apache edition's choices.
func TestStoreInfo(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, url string) {
		var out, errb bytes.Buffer
		if code := Run([]string{"store", "info", "-o", "json", "--store", url}, &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		var info store.Info
		if err := json.Unmarshal(out.Bytes(), &info); err != nil {
			t.Fatal(err)
		}
		want := "sqlite"
		if strings.HasPrefix(url, "postgres") {
			want = "native"
			if storetest.Timescale(t) {
				want = "timescale"
			}
		}
		if info.Layout != want || info.Version < 3 && want != "sqlite" {
			t.Fatalf("layout %q (want %q), version %d", info.Layout, want, info.Version)
		}
		if want != "timescale" {
			return
		}
		if len(info.Features) != 3 || info.Timescale == nil || info.Timescale.License == "" {
			t.Fatalf("info %+v", info)
		}
		// A run from 2026-01 and expire-raw as of 2026-06: its chunk goes.
		ctx := context.Background()
		st, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.CreateRun(ctx, result.Run{ID: "old", Campaign: "c", Started: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
		if err := st.AppendRecords(ctx, "old", "fp", 1, []*sdk.Record{{Index: 0, Status: 200}}); err != nil {
			t.Fatal(err)
		}
		out.Reset()
		if code := Run([]string{"store", "expire-raw", "--now", "2026-06-01T00:00:00Z", "--store", url}, &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		if info.Timescale.License == "apache" && !strings.Contains(out.String(), "dropped 1 chunk of runs started before 2026-03-03T00:00:00Z") {
			t.Errorf("expire-raw said:\n%s", out.String())
		}
		if got, _ := st.Records(ctx, "old", "fp"); info.Timescale.License == "apache" && len(got) != 0 {
			t.Errorf("records left after expire-raw: %v", got)
		}
	})
}
