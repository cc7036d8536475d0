package schema_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	cuecmd "cuelang.org/go/cmd/cue/cmd"
	"cuelang.org/go/cue/errors"
)

// cue runs the cue command at the version in go.mod, in-process, and returns what
// it reported. Tests run it from the module root.
func cue(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd, err := cuecmd.New(args)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err = cmd.Run(context.Background())
	if err != nil {
		out.WriteString(errors.Details(err, nil))
	}
	return out.String(), err
}

// TestPlainCueVet checks that plain cue, with no help from llmsweep, accepts the
// schema, the catalog, the campaigns and the policies: the schema is an ordinary
// CUE module.
func TestPlainCueVet(t *testing.T) {
	t.Chdir("..")
	for _, args := range [][]string{
		{"vet", "-c", "./schema/"},
		{"vet", "-c", "./catalog/"},
		{"vet", "-c", "./campaigns/..."},
		{"fmt", "--check", "./schema/", "./catalog/", "./campaigns/..."},
	} {
		if out, err := cue(t, args...); err != nil {
			t.Errorf("cue %v: %v\n%s", args, err, out)
		}
	}
}

// TestPlainCueVetRejects checks that plain cue vet also catches what the schema
// forbids, so that the schema is not only enforced by llmsweep's Go code.
func TestPlainCueVetRejects(t *testing.T) {
	t.Chdir("..")
	out, err := cue(t, "vet", "-c", "./testdata/cuevet/bad/")
	if err == nil {
		t.Fatalf("cue vet accepted testdata/cuevet/bad:\n%s", out)
	}
	for _, want := range []string{
		`campaigns."unknown-field".bogus: field not allowed`,
		`policies.lopsided.criteria: criteria weights sum to 0.9; they must sum to 1`,
		`campaigns."zero-concurrency".grid.concurrency.0: invalid value 0 (out of bound >0)`,
		`testdata/cuevet/bad/bad.cue:17:22`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("cue vet output lacks %q:\n%s", want, out)
		}
	}
}
