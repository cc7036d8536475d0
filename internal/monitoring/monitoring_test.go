package monitoring

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"

	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/runner"
)

type nop struct{ calls int }

func (n *nop) Start(int, int)            { n.calls++ }
func (n *nop) Current(*matrix.Config)    { n.calls++ }
func (n *nop) Done(*matrix.Config, bool) { n.calls++ }
func (n *nop) Finish()                   { n.calls++ }

// TestScrape serves the metrics on a real listener, drives them as the runner
// does, and scrapes /metrics over HTTP.
func TestScrape(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := New("nightly")
	clock := time.Unix(1e9, 0)
	m.now = func() time.Time { return clock }
	addr, err := Serve(ctx, "127.0.0.1:0", m)
	if err != nil {
		t.Fatal(err)
	}
	next := &nop{}
	var p runner.Progress = m.Progress(next)
	m.AlreadyStored(1) // left out of the run for having results
	p.Start(9, 1)      // and 1 the runner finds stored: 10 planned, 2 hits
	a, b := &matrix.Config{Fingerprint: "a"}, &matrix.Config{Fingerprint: "b"}
	p.Current(a)
	p.Current(b)
	clock = clock.Add(90 * time.Second)
	p.Done(a, true)
	p.Done(b, false)
	p.Finish()
	m.Interrupted()
	m.SetRecommendationAccuracy(0.625)
	if next.calls != 6 {
		t.Errorf("the wrapped progress got %d calls, want 6", next.calls)
	}

	resp, err := http.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		`benchmark_completion_rate{campaign="nightly"} 0.3`, // (1 done + 2 stored) / 10
		`result_reuse_ratio{campaign="nightly"} 0.2`,
		`spot_instance_interruptions{campaign="nightly"} 1`,
		`recommendation_accuracy{campaign="nightly"} 0.625`,
		`average_benchmark_duration_bucket{campaign="nightly",le="60"} 0`,
		`average_benchmark_duration_bucket{campaign="nightly",le="120"} 1`,
		`average_benchmark_duration_sum{campaign="nightly"} 90`,
		`average_benchmark_duration_count{campaign="nightly"} 1`, // the failed config is not a duration
		"# HELP result_reuse_ratio Configs whose results were already stored",
		"# TYPE average_benchmark_duration histogram",
		"# TYPE spot_instance_interruptions counter",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, text)
		}
	}
	if _, err := Serve(ctx, addr.String(), m); err == nil {
		t.Error("a second listener on the same address did not fail")
	}
}

func TestHelpTexts(t *testing.T) {
	for _, n := range []string{CompletionRate, Duration, Interruptions, CacheHitRatio, ReuseRatio, RecommendationAccuracy} {
		if len(Help(n)) < 40 {
			t.Errorf("%s: help %q does not say how it is computed", n, Help(n))
		}
	}
}

// TestRulesParse checks the PrometheusRule with Prometheus' own rule parser
// and every expression with the PromQL parser, and that each names only
// metrics that exist.
func TestRulesParse(t *testing.T) {
	pr := Rules("nightly", "nightly-llmsweep", "bench", map[string]string{"app": "llmsweep"}, DefaultThresholds)
	out, err := pr.YAML()
	if err != nil {
		t.Fatal(err)
	}
	var obj struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Metadata   map[string]any `json:"metadata"`
		Spec       map[string]any `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(out, &obj); err != nil {
		t.Fatal(err)
	}
	if obj.APIVersion != "monitoring.coreos.com/v1" || obj.Kind != "PrometheusRule" {
		t.Errorf("%s %s", obj.APIVersion, obj.Kind)
	}
	spec, err := yaml.Marshal(obj.Spec)
	if err != nil {
		t.Fatal(err)
	}
	groups, errs := rulefmt.Parse(spec, false)
	if len(errs) > 0 {
		t.Fatalf("rulefmt: %v\n%s", errs, spec)
	}
	alerts := map[string]bool{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
			checkExpr(t, r.Alert, r.Expr)
		}
	}
	for _, want := range []string{"LLMSweepBatchFailed", "LLMSweepLongBatch", "LLMSweepRepeatedSpotInterruptions"} {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}

	// The parser is not lenient: a broken expression fails it.
	bad := strings.Replace(string(spec), "> 0", "> > 0", 1)
	if _, errs := rulefmt.Parse([]byte(bad), false); len(errs) == 0 {
		t.Error("rulefmt accepted a broken expression")
	}
}

// TestDashboard checks the dashboard is JSON whose every panel queries, in
// valid PromQL, only metrics that exist.
func TestDashboard(t *testing.T) {
	b, err := Dashboard("nightly")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string `json:"uid"`
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || len(d.Panels) < 6 {
		t.Fatalf("dashboard %s with %d panels", d.UID, len(d.Panels))
	}
	seen := map[string]bool{}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			for _, n := range checkExpr(t, p.Title, q.Expr) {
				seen[n] = true
			}
		}
	}
	for _, n := range []string{CompletionRate, Duration + "_sum", Interruptions, ReuseRatio, CacheHits, CacheMisses, CacheFailures, RecommendationAccuracy,
		ArgoPrefix + ArgoFailures, ArgoPrefix + ArgoDuration + "_bucket"} {
		if !seen[n] {
			t.Errorf("no panel shows %s", n)
		}
	}
}

// checkExpr parses expr and fails on a metric not in Series; it returns the
// metric names used.
func checkExpr(t *testing.T, where, expr string) []string {
	t.Helper()
	e, err := parser.ParseExpr(expr)
	if err != nil {
		t.Errorf("%s: %q: %v", where, expr, err)
		return nil
	}
	known := Series()
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
			if !known[vs.Name] {
				t.Errorf("%s: %q queries %s, which no exporter defines", where, expr, vs.Name)
			}
			hasCampaign := false
			for _, m := range vs.LabelMatchers {
				if m.Name == "campaign" && m.Value == "nightly" {
					hasCampaign = true
				}
			}
			// The catalog service serves every campaign: its series have no campaign.
			serviceWide := map[string]bool{CacheHitRatio: true, CacheHits: true, CacheMisses: true, CacheFailures: true}
			if !hasCampaign && !serviceWide[vs.Name] {
				t.Errorf("%s: %s is not filtered by the campaign", where, vs.Name)
			}
		}
		return nil
	})
	return names
}
