package monitoring

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/llmsweep/llmsweep/internal/argo"
	"github.com/llmsweep/llmsweep/internal/campaign"
)

// ArgoPrefix is what Argo Workflows (v3.6 and later) puts before the names of
// template metrics when its controller exports them to Prometheus.
const ArgoPrefix = "argo_workflows_"

// Argo's template metrics, as llmsweep's manifests define them on each batch
// template (internal/argo): the names before ArgoPrefix.
const (
	ArgoCompletion    = argo.MetricCompletion
	ArgoDuration      = argo.MetricDuration
	ArgoInterruptions = argo.MetricInterruptions
	ArgoFailures      = argo.MetricFailures
)

// Series lists every series name the dashboard and the rules may query: the
// pipeline's own metrics (from llmsweep run and exec) and Argo's template
// metrics, with a histogram's _bucket, _sum and _count.
func Series() map[string]bool {
	s := map[string]bool{}
	hist := func(n string) {
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			s[n+suf] = true
		}
	}
	s[CompletionRate], s[Interruptions], s[ReuseRatio], s[RecommendationAccuracy] = true, true, true, true
	s[CacheHitRatio], s[CacheHits], s[CacheMisses], s[CacheFailures] = true, true, true, true
	hist(Duration)
	s[ArgoPrefix+ArgoCompletion], s[ArgoPrefix+ArgoInterruptions], s[ArgoPrefix+ArgoFailures] = true, true, true
	hist(ArgoPrefix + ArgoDuration)
	return s
}

// Thresholds of the alerts.
type Thresholds struct {
	// LongBatch is how long a batch may take (p95) before it alerts.
	LongBatchSeconds float64
	// Interruptions in an hour, on one hardware shape, that alert.
	Interruptions int
}

// DefaultThresholds: batches over 2 hours; 3 spot interruptions an hour.
var DefaultThresholds = Thresholds{LongBatchSeconds: 7200, Interruptions: 3}

// Rule is one Prometheus alerting rule.
type Rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// RuleGroup is a named group of rules.
type RuleGroup struct {
	Name  string `json:"name"`
	Rules []Rule `json:"rules"`
}

// PrometheusRule is the monitoring.coreos.com/v1 object (Prometheus Operator).
type PrometheusRule struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace,omitempty"`
		Labels    map[string]string `json:"labels,omitempty"`
	} `json:"metadata"`
	Spec struct {
		Groups []RuleGroup `json:"groups"`
	} `json:"spec"`
}

// cacheHitRate is the catalog service's Redis hit ratio over window, from
// its counters (cache_hit_ratio itself counts from the server's start).
func cacheHitRate(window string) string {
	return fmt.Sprintf(`sum(rate(%[1]s[%[4]s])) / (sum(rate(%[1]s[%[4]s])) + sum(rate(%[2]s[%[4]s])) + sum(rate(%[3]s[%[4]s])))`,
		CacheHits, CacheMisses, CacheFailures, window)
}

// Rules builds the campaign's PrometheusRule: alerts for failed jobs, long
// durations and repeated spot interruptions, from Argo's template metrics (the
// cluster) and from llmsweep run/exec's own metrics (--metrics-addr).
func Rules(campaign, name, namespace string, labels map[string]string, t Thresholds) *PrometheusRule {
	sel := fmt.Sprintf(`{campaign=%q}`, campaign)
	long := strconv.FormatFloat(t.LongBatchSeconds, 'f', -1, 64)
	n := strconv.Itoa(t.Interruptions)
	sev := func(s string) map[string]string { return map[string]string{"severity": s, "campaign": campaign} }
	rules := []Rule{
		{
			Alert:  "LLMSweepBatchFailed",
			Expr:   fmt.Sprintf(`sum by (hardware, model) (increase(%s%s%s[1h])) > 0`, ArgoPrefix, ArgoFailures, sel),
			Labels: sev("warning"),
			Annotations: map[string]string{
				"summary":     "A benchmark batch of campaign " + campaign + " failed",
				"description": "{{ $value }} batch(es) on {{ $labels.hardware }} ({{ $labels.model }}) failed every retry in the last hour; their configs have no results. See the workflow's failures and the notify message.",
			},
		},
		{
			Alert: "LLMSweepRunIncomplete",
			Expr:  fmt.Sprintf(`min by (instance) (%s%s) < 1 and on (instance) changes(%s%s[30m]) == 0`, CompletionRate, sel, CompletionRate, sel),
			For:   "30m", Labels: sev("warning"),
			Annotations: map[string]string{
				"summary":     "A run of campaign " + campaign + " stopped short of its plan",
				"description": "{{ $labels.instance }} has completed {{ $value | humanizePercentage }} of its configs and made no progress for 30 minutes.",
			},
		},
		{
			Alert: "LLMSweepLongBatch",
			Expr:  fmt.Sprintf(`histogram_quantile(0.95, sum by (le, hardware) (rate(%s%s_bucket%s[6h]))) > %s`, ArgoPrefix, ArgoDuration, sel, long),
			For:   "15m", Labels: sev("warning"),
			Annotations: map[string]string{
				"summary":     "Benchmark batches of campaign " + campaign + " take long",
				"description": "The 95th percentile batch on {{ $labels.hardware }} took {{ $value | humanizeDuration }} over 6 hours (threshold " + long + " s).",
			},
		},
		{
			Alert: "LLMSweepLongBenchmark",
			Expr:  fmt.Sprintf(`sum(rate(%s_sum%s[1h])) / sum(rate(%s_count%s[1h])) > %s`, Duration, sel, Duration, sel, long),
			For:   "15m", Labels: sev("warning"),
			Annotations: map[string]string{
				"summary":     "Configs of campaign " + campaign + " take long on average",
				"description": "The average config took {{ $value | humanizeDuration }} over the last hour (threshold " + long + " s).",
			},
		},
		{
			Alert:  "LLMSweepRepeatedSpotInterruptions",
			Expr:   fmt.Sprintf(`sum by (hardware) (increase(%s%s%s[1h])) >= %s`, ArgoPrefix, ArgoInterruptions, sel, n),
			Labels: sev("warning"),
			Annotations: map[string]string{
				"summary":     "Spot capacity for campaign " + campaign + " keeps being reclaimed",
				"description": "{{ $value }} batch attempts on {{ $labels.hardware }} ended in a retry within an hour; consider on-demand fallback (spot.fallback_to_on_demand) or another zone.",
			},
		},
		{
			Alert:  "LLMSweepRepeatedSpotInterruptionsLocal",
			Expr:   fmt.Sprintf(`sum by (instance) (increase(%s%s[1h])) >= %s`, Interruptions, sel, n),
			Labels: sev("warning"),
			Annotations: map[string]string{
				"summary":     "llmsweep run/exec of campaign " + campaign + " is interrupted again and again",
				"description": "{{ $labels.instance }} received {{ $value }} spot warnings (SIGTERM) within an hour.",
			},
		},
		{
			// The catalog service reads every campaign's results: this alert
			// is the same in each campaign's rules, and fires once per rule.
			Alert: "LLMSweepCatalogCacheCold",
			Expr:  cacheHitRate("30m") + " < 0.5",
			For:   "30m", Labels: map[string]string{"severity": "info"},
			Annotations: map[string]string{
				"summary":     "The catalog service's Redis cache answers few reads",
				"description": "Redis answered {{ $value | humanizePercentage }} of llmsweep serve's reads over 30 minutes: it is down (see llmsweep_serve_cache_failures_total), its TTL (--cache-ttl) is short, or invalidations come often.",
			},
		},
	}
	pr := &PrometheusRule{APIVersion: "monitoring.coreos.com/v1", Kind: "PrometheusRule"}
	pr.Metadata.Name, pr.Metadata.Namespace, pr.Metadata.Labels = name, namespace, labels
	pr.Spec.Groups = []RuleGroup{{Name: "llmsweep-" + campaign, Rules: rules}}
	return pr
}

// YAML is the object as YAML, keys sorted, so the output is deterministic.
func (p *PrometheusRule) YAML() ([]byte, error) { return yaml.Marshal(p) }

// Panel is a Grafana panel with its queries.
type Panel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Description string         `json:"description,omitempty"`
	GridPos     map[string]int `json:"gridPos"`
	Datasource  map[string]any `json:"datasource"`
	Targets     []Target       `json:"targets"`
	FieldConfig map[string]any `json:"fieldConfig"`
	Options     map[string]any `json:"options,omitempty"`
}

// Target is one query of a panel.
type Target struct {
	RefID        string         `json:"refId"`
	Expr         string         `json:"expr"`
	LegendFormat string         `json:"legendFormat,omitempty"`
	Datasource   map[string]any `json:"datasource"`
}

// Dashboard is the campaign's Grafana dashboard (JSON model, schemaVersion 39)
// for pipeline status.
func Dashboard(campaign string) ([]byte, error) {
	ds := map[string]any{"type": "prometheus", "uid": "${datasource}"}
	sel := fmt.Sprintf(`{campaign=%q}`, campaign)
	type q struct{ expr, legend string }
	var panels []Panel
	add := func(typ, title, desc, unit string, w, h int, qs ...q) {
		p := Panel{ID: len(panels) + 1, Type: typ, Title: title, Description: desc, Datasource: ds,
			GridPos:     map[string]int{"x": (len(panels) * 12) % 24, "y": (len(panels) / 2) * 8, "w": w, "h": h},
			FieldConfig: map[string]any{"defaults": map[string]any{"unit": unit}, "overrides": []any{}}}
		for i, x := range qs {
			p.Targets = append(p.Targets, Target{RefID: string(rune('A' + i)), Expr: x.expr, LegendFormat: x.legend, Datasource: ds})
		}
		panels = append(panels, p)
	}
	add("stat", "Completion (local runs)", Help(CompletionRate), "percentunit", 12, 8,
		q{fmt.Sprintf(`max by (instance) (%s%s)`, CompletionRate, sel), "{{instance}}"})
	add("timeseries", "Batches completed (Argo)", "1 when a batch's configs completed, 0 when it failed, per hardware.", "short", 12, 8,
		q{fmt.Sprintf(`avg by (hardware) (%s%s%s)`, ArgoPrefix, ArgoCompletion, sel), "{{hardware}}"})
	add("timeseries", "Batch duration p50 / p95 (Argo)", "Wall time of batch pods, per hardware.", "s", 12, 8,
		q{fmt.Sprintf(`histogram_quantile(0.5, sum by (le, hardware) (rate(%s%s_bucket%s[1h])))`, ArgoPrefix, ArgoDuration, sel), "p50 {{hardware}}"},
		q{fmt.Sprintf(`histogram_quantile(0.95, sum by (le, hardware) (rate(%s%s_bucket%s[1h])))`, ArgoPrefix, ArgoDuration, sel), "p95 {{hardware}}"})
	add("timeseries", "Average config duration (local runs)", Help(Duration), "s", 12, 8,
		q{fmt.Sprintf(`sum(rate(%s_sum%s[15m])) / sum(rate(%s_count%s[15m]))`, Duration, sel, Duration, sel), "average"})
	add("timeseries", "Failed batches (Argo)", "Batches that failed every retry, per hour.", "short", 12, 8,
		q{fmt.Sprintf(`sum by (hardware) (increase(%s%s%s[1h]))`, ArgoPrefix, ArgoFailures, sel), "{{hardware}}"})
	add("timeseries", "Spot interruptions", "Batch attempts that ended in a retry (Argo), and SIGTERMs received by run/exec, per hour.", "short", 12, 8,
		q{fmt.Sprintf(`sum by (hardware) (increase(%s%s%s[1h]))`, ArgoPrefix, ArgoInterruptions, sel), "argo {{hardware}}"},
		q{fmt.Sprintf(`sum(increase(%s%s[1h]))`, Interruptions, sel), "run/exec"})
	add("gauge", "Stored results reused", Help(ReuseRatio), "percentunit", 12, 8,
		q{fmt.Sprintf(`max(%s%s)`, ReuseRatio, sel), "reused"})
	// The catalog service serves every campaign: its cache has no campaign label.
	add("timeseries", "Catalog cache hit ratio (llmsweep serve)", Help(CacheHitRatio)+" Plotted over 15 minutes from its read counters.", "percentunit", 12, 8,
		q{cacheHitRate("15m"), "hit ratio, 15 min"})
	add("gauge", "Recommendation accuracy", Help(RecommendationAccuracy), "percentunit", 12, 8,
		q{fmt.Sprintf(`max(%s%s)`, RecommendationAccuracy, sel), "accuracy"})

	d := map[string]any{
		"uid":           dashboardUID(campaign),
		"title":         "llmsweep: " + campaign,
		"description":   "Pipeline status of llmsweep campaign " + campaign + ": Argo template metrics and llmsweep run/exec metrics.",
		"tags":          []string{"llmsweep"},
		"schemaVersion": 39,
		"version":       1,
		"editable":      true,
		"time":          map[string]string{"from": "now-24h", "to": "now"},
		"refresh":       "1m",
		"templating": map[string]any{"list": []any{map[string]any{
			"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus",
		}}},
		"panels": panels,
	}
	return json.MarshalIndent(d, "", "  ")
}

// dashboardUID is at most 40 characters, as Grafana requires.
func dashboardUID(campaign string) string {
	uid := "llmsweep-" + campaign
	if len(uid) > 40 {
		uid = uid[:40]
	}
	return uid
}

// Files are the campaign's generated/<campaign>/monitoring/ files: the
// Grafana dashboard and the PrometheusRule, in the campaign's namespace with
// the labels apply finds a campaign's objects by.
func Files(c campaign.Campaign) (map[string][]byte, error) {
	labels := map[string]string{argo.LabelCampaign: c.Name, argo.LabelPartOf: "llmsweep", argo.LabelManaged: "llmsweep"}
	rule, err := Rules(c.Name, ruleName(c.Name), c.Namespace, labels, DefaultThresholds).YAML()
	if err != nil {
		return nil, err
	}
	dash, err := Dashboard(c.Name)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		"monitoring/dashboard.json":      append(dash, '\n'),
		"monitoring/prometheusrule.yaml": rule,
	}, nil
}

// ruleName is a DNS name of at most 63 characters.
func ruleName(campaign string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(campaign) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	n := strings.Trim(b.String(), "-")
	if len(n) > 56 {
		n = strings.TrimRight(n[:56], "-")
	}
	return n + "-alerts"
}
