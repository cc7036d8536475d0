package report

import (
	"bytes"

	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func build(t *testing.T, url string) *Report {
	t.Helper()
	st := openStore(t, url)
	seed(t, st)
	r, err := Build(context.Background(), st, Options{Campaign: "demo", Set: testSet(), SampleTests: true})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func encode(t *testing.T, r *Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := jsonDiff(t, want, got); d != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, d)
	}
}

// jsonDiff compares two JSON documents, numbers to 1e-9 relative: rank.Rank
// sums the policy's weights in map order, which moves the last bits of the
// scores from one run to the next.
func jsonDiff(t *testing.T, want, got []byte) string {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	return cmp.Diff(w, g, cmpopts.EquateApprox(1e-9, 0))
}

func TestGoldenJSON(t *testing.T) {
	r := build(t, sqliteURL(t))
	golden(t, "demo.json", encode(t, r))

	// What the golden file should show, said outright.
	if r.Schema != Schema || r.Summary.Planned != 13 || r.Summary.Run != 11 || r.Summary.Failed != 1 || r.Summary.NotRun != 1 {
		t.Errorf("summary = %+v", r.Summary)
	}
	if r.Summary.Predicted != 3 {
		t.Errorf("predicted = %d, want the 3 sim results", r.Summary.Predicted)
	}
	if r.Regressions.PriorRun != "r1" || len(r.Regressions.Found) == 0 {
		t.Fatalf("regressions = %+v", r.Regressions)
	}
	for _, d := range r.Regressions.Found {
		if !strings.Contains(d.What, "/tgi-3.0.1/") || !strings.Contains(d.What, "gpu-a-x1") || !strings.HasPrefix(d.Metric, "ttft") {
			t.Errorf("unexpected regression %+v", d)
		}
	}
	if len(r.Failures) != 1 || !strings.Contains(r.Failures[0].Reason, "out of memory") {
		t.Errorf("failures = %+v", r.Failures)
	}
	if len(r.Policies) != 3 {
		t.Fatalf("%d policies", len(r.Policies))
	}
	for _, p := range r.Policies {
		if len(p.Top) == 0 || p.Top[0].Explanation == "" {
			t.Errorf("policy %s: no recommendation: %+v", p.Name, p)
		}
	}
	if len(r.Pareto.Front) == 0 || len(r.Curves) != 2 {
		t.Errorf("front %d, curves %d", len(r.Pareto.Front), len(r.Curves))
	}
}

// TestPostgres builds the same report from PostgreSQL: the two backends agree.
func TestPostgres(t *testing.T) {
	r := build(t, pgSchemaURL(t))
	want, err := os.ReadFile(filepath.Join("testdata", "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	if d := jsonDiff(t, want, encode(t, r)); d != "" {
		t.Errorf("PostgreSQL report differs from the SQLite golden file (-sqlite +postgres):\n%s", d)
	}
}

// TestSchema holds schema.json to the JSON the report writes: every property
// written is described, and every required one is written.
func TestSchema(t *testing.T) {
	var schema struct {
		ID         string                     `json:"$id"`
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
		Schema     struct {
			Const string `json:"const"`
		} `json:"-"`
	}
	b, err := os.ReadFile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"const": "`+Schema+`"`)) {
		t.Errorf("schema.json does not pin schema to %q", Schema)
	}
	var doc map[string]any
	out := encode(t, build(t, sqliteURL(t)))
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	// The whole document, nested objects included, against the schema.
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("schema.json", sch); err != nil {
		t.Fatal(err)
	}
	compiled, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if err := compiled.Validate(inst); err != nil {
		t.Errorf("the report does not validate against schema.json: %v", err)
	}
	for k := range doc {
		if _, ok := schema.Properties[k]; !ok {
			t.Errorf("the report writes %q, which schema.json does not describe", k)
		}
	}
	for _, k := range schema.Required {
		if _, ok := doc[k]; !ok {
			t.Errorf("schema.json requires %q, which the report does not write", k)
		}
	}
}

func TestEmptyStore(t *testing.T) {
	st := openStore(t, sqliteURL(t))
	out := filepath.Join(t.TempDir(), "reports")
	_, err := Write(context.Background(), st, Options{Campaign: "demo", Out: out})
	if !errors.Is(err, ErrEmpty) || !strings.Contains(err.Error(), "no results of campaign demo") {
		t.Errorf("Write on an empty store = %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the output directory exists after a failed report: %v", err)
	}
	if _, err := Write(context.Background(), st, Options{RunID: "nonesuch", Out: out}); !errors.Is(err, ErrEmpty) || !strings.Contains(err.Error(), `run "nonesuch" is not in the store`) {
		t.Errorf("Write of an unknown run = %v", err)
	}
}

func TestWriteFiles(t *testing.T) {
	st := openStore(t, sqliteURL(t))
	seed(t, st)
	out := filepath.Join(t.TempDir(), "reports")
	p, err := Write(context.Background(), st, Options{Campaign: "demo", Set: testSet(), Out: out})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Formats {
		want := filepath.Join(out, "demo-r2."+f)
		if p.Files[f] != want || p.Latest[f] != filepath.Join(out, "latest."+f) {
			t.Errorf("%s: paths %+v", f, p)
		}
		a, err1 := os.ReadFile(p.Files[f])
		b, err2 := os.ReadFile(p.Latest[f])
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) || len(a) == 0 {
			t.Errorf("%s: %v %v, same %v", f, err1, err2, bytes.Equal(a, b))
		}
	}
	html, _ := os.ReadFile(p.Files["html"])
	for _, s := range []string{"PREDICTED, NOT MEASURED", "<svg", "1. Campaign summary", "server exited: CUDA out of memory", "Against run <code>r1</code>"} {
		if !bytes.Contains(html, []byte(s)) {
			t.Errorf("the HTML lacks %q", s)
		}
	}
	for _, s := range []string{"<script", "src=\"http", "href=\"http", "<link"} {
		if bytes.Contains(html, []byte(s)) {
			t.Errorf("the HTML is not self-contained: it has %q", s)
		}
	}
	pdf, _ := os.ReadFile(p.Files["pdf"])
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Errorf("the PDF starts with %q", pdf[:min(len(pdf), 8)])
	}
	// The report of an explicit, earlier run has no prior run.
	r, err := Build(context.Background(), st, Options{RunID: "r1", Set: testSet()})
	if err != nil || r.Regressions.PriorRun != "" || r.Run.ID != "r1" {
		t.Errorf("report of r1: %v, %+v", err, r.Regressions)
	}
}
