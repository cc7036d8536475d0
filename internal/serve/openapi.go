package serve

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"reflect"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
)

// param describes a query or path parameter in the OpenAPI document.
type param struct {
	name, in, doc string
	schema        *openapi3.Schema
}

func q(name, doc string) param {
	return param{name, "query", doc, openapi3.NewStringSchema().WithMaxLength(maxParam)}
}

func qs(name, doc string, s *openapi3.Schema) param { return param{name, "query", doc, s} }

func pp(name, doc string) param {
	return param{name, "path", doc, openapi3.NewStringSchema().WithMaxLength(maxParam)}
}

// operation is one endpoint of the document: its answer is a value of the Go
// type the handler returns, so the schema and the code cannot drift.
type operation struct {
	path, summary string
	params        []param
	answer        any
}

func filterDocs() []param {
	return []param{
		q("campaign", "only results of runs of this campaign"), q("run", "only this run's results"),
		q("model", "only this model"), q("hardware", "only this hardware"), q("framework", "only this framework"),
		q("quantization", "only this quantization"), q("workload", "only this workload"),
		qs("provenance", "only results that were measured, predicted or imported", enum("measured", "predicted", "imported")),
	}
}

func enum(vs ...string) *openapi3.Schema {
	s := openapi3.NewStringSchema()
	for _, v := range vs {
		s.Enum = append(s.Enum, v)
	}
	return s
}

func pageDocs() []param {
	return []param{
		qs("limit", fmt.Sprintf("page size (default %d)", DefaultLimit), openapi3.NewIntegerSchema().WithMin(1).WithMax(MaxLimit)),
		q("cursor", "the next field of the previous page"),
	}
}

func operations() []operation {
	positive := func() *openapi3.Schema { return openapi3.NewFloat64Schema().WithMin(0).WithExclusiveMin(true) }
	return []operation{
		{"/healthz", "The process is alive.", nil, Health{}},
		{"/readyz", "The store answers.", nil, Health{}},
		{"/api/v1/models", "The catalog's models, by name.", nil, Catalog[campaign.Model]{}},
		{"/api/v1/hardware", "The catalog's hardware with prices, by name.", nil, Catalog[campaign.Hardware]{}},
		{"/api/v1/frameworks", "The catalog's serving frameworks, by name.", nil, Catalog[campaign.Framework]{}},
		{"/api/v1/quantizations", "The catalog's quantizations, by name.", nil, Catalog[campaign.Quantization]{}},
		{"/api/v1/workloads", "The catalog's workloads, by name.", nil, Catalog[campaign.Workload]{}},
		{"/api/v1/rankings", "model_rankings: each model's serving stacks per workload, ranked by best output throughput.",
			append([]param{q("model", "only this model"), q("workload", "only this workload"),
				qs("provenance", "only this provenance", enum("measured", "predicted", "imported"))}, pageDocs()...),
			Page[store.Ranking]{}},
		{"/api/v1/daily-stats", "daily_stats: one UTC day of one serving stack.",
			append([]param{q("model", "only this model"), q("hardware", "only this hardware"), q("framework", "only this framework"),
				q("quantization", "only this quantization"), q("provenance", "only this provenance")}, pageDocs()...),
			Page[store.DailyStat]{}},
		{"/api/v1/results", "Per-config results, oldest first, with llmsweep results' filters.",
			append(append(filterDocs(), qs("newest", "only each config's newest result", openapi3.NewBoolSchema())), pageDocs()...),
			Page[result.Result]{}},
		{"/api/v1/results/{run}/{fingerprint}", "A config's result in a run: percentiles, the per-request latency distribution, utilization and provenance.",
			[]param{pp("run", "the run ID"), pp("fingerprint", "the result's fingerprint (its identity: see result.Identity)")},
			ConfigDetail{}},
		{"/api/v1/runs", "Runs, newest first, with how far each got.", append([]param{q("campaign", "only this campaign's runs")}, pageDocs()...), Page[RunInfo]{}},
		{"/api/v1/runs/{run}", "A run and how far it got.", []param{pp("run", "the run ID")}, RunInfo{}},
		{"/api/v1/runs/{run}/failures", "A run's configs that failed for good, by run ID.", []param{pp("run", "the run ID")}, Catalog[[]result.Failure]{}},
		{"/api/v1/reviews", "The manual-review queue (llmsweep failures list): configs that failed every retry, with their review state.",
			append([]param{q("campaign", "only this campaign"), q("run", "only this run"), q("model", "only this model"), q("hardware", "only this hardware"),
				q("framework", "only this framework"), q("quantization", "only this quantization"), q("workload", "only this workload"),
				q("state", "states, comma-separated: open, acked, retry, retried, resolved (default open,acked,retry)")}, pageDocs()...),
			Page[store.Review]{}},
		{"/api/v1/compare", "Compare run A with run B config by config, as llmsweep compare does.",
			[]param{q("a", "run A's ID (required)"), q("b", "run B's ID (required)"),
				qs("threshold", "the relative change that counts as a regression (default 0.05)", positive()),
				qs("alpha", "the significance level (default 0.05)", positive().WithMax(1))},
			Comparison{}},
		{"/api/v1/recommend", "The top configs under a ranking policy, SLOs and a budget, with why each was picked: the ranking llmsweep rank does.",
			[]param{q("policy", "a policy's name (default balanced)"), q("weights", "criterion:weight pairs, comma-separated, replacing the policy's weights"),
				q("workload", "the workload (required)"), q("model", "only this model"),
				qs("ttft_p99_ms", "SLO: TTFT P99 at most this many ms", positive()), qs("tpot_p99_ms", "SLO: TPOT P99 at most this many ms", positive()),
				qs("max_usd_per_hour", "budget in $/hour", positive()), qs("max_usd_per_1m_output_tokens", "budget in $ per 1M output tokens", positive()),
				qs("prices", "which prices the budget reads", enum("spot", "on_demand")),
				qs("top", "how many picks (default: the policy's top_n, else 5)", openapi3.NewIntegerSchema().WithMin(1).WithMax(50))},
			Recommendation{}},
		{"/api/v1/pareto", "The Pareto front of each config's newest result over chosen criteria.",
			append([]param{q("criteria", "METRIC:min or METRIC:max, two to four, comma-separated (required)")}, filterDocs()...),
			Front{}},
	}
}

var nonName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// typeName names a component schema by package and type, so that
// metrics.Summary and telemetry.Summary stay apart.
func typeName(t reflect.Type) string {
	name := t.Name()
	if i := strings.IndexByte(name, '['); i >= 0 {
		args := strings.Split(strings.TrimSuffix(name[i+1:], "]"), ",")
		for j, a := range args {
			args[j] = path.Base(strings.TrimPrefix(a, "[]"))
			if strings.HasPrefix(a, "[]") {
				args[j] = "ListOf" + args[j]
			}
		}
		name = name[:i] + "_" + strings.Join(args, "_")
	}
	return nonName.ReplaceAllString(path.Base(t.PkgPath())+"."+name, "_")
}

var valueType = reflect.TypeFor[metrics.Value]()

// buildOpenAPI makes the service's OpenAPI 3 document; the answers' schemas
// are generated from the Go types the handlers return.
func buildOpenAPI() (*openapi3.T, error) {
	doc := &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{Title: "llmsweep catalog", Version: "1",
			Description: "The read-only API of llmsweep serve: the model catalog, results, rankings, comparisons and recommendations."},
		Paths:      openapi3.NewPaths(),
		Components: &openapi3.Components{Schemas: openapi3.Schemas{}, SecuritySchemes: openapi3.SecuritySchemes{}},
	}
	doc.Components.SecuritySchemes["bearer"] = &openapi3.SecuritySchemeRef{Value: openapi3.NewJWTSecurityScheme().WithBearerFormat("opaque")}
	gen := openapi3gen.NewGenerator(
		openapi3gen.CreateComponentSchemas(openapi3gen.ExportComponentSchemasOptions{ExportComponentSchemas: true, ExportGenerics: true}),
		openapi3gen.CreateTypeNameGenerator(typeName),
		openapi3gen.SchemaCustomizer(func(_ string, t reflect.Type, _ reflect.StructTag, s *openapi3.Schema) error {
			if t == valueType {
				// A metric is a number, or null when it was not measured.
				*s = *openapi3.NewFloat64Schema()
				s.Nullable = true
			}
			return nil
		}),
	)
	errRef, err := gen.NewSchemaRefForValue(Error{}, doc.Components.Schemas)
	if err != nil {
		return nil, err
	}
	errResp := func(desc string) *openapi3.ResponseRef {
		return &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription(desc).WithJSONSchemaRef(errRef)}
	}
	for _, op := range operations() {
		ref, err := gen.NewSchemaRefForValue(op.answer, doc.Components.Schemas)
		if err != nil {
			return nil, fmt.Errorf("openapi: %s: %w", op.path, err)
		}
		o := openapi3.NewOperation()
		o.Summary = op.summary
		o.OperationID = strings.NewReplacer("/api/v1/", "", "/", "_", "{", "", "}", "", "-", "_").Replace(strings.TrimPrefix(op.path, "/"))
		for _, p := range op.params {
			var prm *openapi3.Parameter
			if p.in == "path" {
				prm = openapi3.NewPathParameter(p.name)
			} else {
				prm = openapi3.NewQueryParameter(p.name)
			}
			prm.Description = p.doc
			prm.Schema = p.schema.NewRef()
			o.AddParameter(prm)
		}
		o.Responses = openapi3.NewResponses()
		o.Responses.Set("200", &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("OK").WithJSONSchemaRef(ref)})
		if op.path == "/readyz" {
			o.Responses.Set("503", &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("The store does not answer.").WithJSONSchemaRef(ref)})
		} else {
			o.Responses.Set("400", errResp("A parameter is unknown, repeated or invalid; the message says which and what to give."))
			o.Responses.Set("404", errResp("The run, config or campaign named is not in the store."))
			o.Responses.Set("500", errResp("The store failed; the server log says why."))
		}
		if !strings.HasSuffix(op.path, "z") {
			o.Responses.Set("401", errResp("A bearer token is needed (the server runs with --token-file)."))
			o.Security = &openapi3.SecurityRequirements{{"bearer": {}}}
		}
		doc.AddOperation(op.path, http.MethodGet, o)
	}
	// The generator refers to metrics.Value by name but leaves its
	// (customized) schema out of the components.
	if _, ok := doc.Components.Schemas[typeName(valueType)]; !ok {
		v := openapi3.NewFloat64Schema()
		v.Nullable = true
		v.Description = "A metric: a number, or null when it was not measured."
		doc.Components.Schemas[typeName(valueType)] = v.NewRef()
	}
	return doc, nil
}

func (s *Server) openapi(w http.ResponseWriter, _ *http.Request) {
	b, err := json.Marshal(s.doc)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeRaw(w, http.StatusOK, b)
}
