// Package ci_test checks the shipped CI integrations as files: actionlint (with
// shellcheck) on every GitHub workflow, shipped or shown in the docs; shellcheck
// on the shell scripts and on the scripts inside the composite action and the
// GitLab template, which actionlint does not read; and the GitLab template
// parsed as YAML. ci/run.sh itself runs in testdata/script/ci_run.txtar.
//
// actionlint comes from LLMSWEEP_ACTIONLINT or PATH, shellcheck from PATH
// (tools/ci/ensure.sh installs both). Without them the tests that need them
// skip, unless LLMSWEEP_CI_LINT=1 (make test) makes that a failure.
package ci_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/llmsweep/llmsweep/internal/prcomment"
)

// tool returns the path of a linter, or skips (fails under LLMSWEEP_CI_LINT=1).
func tool(t *testing.T, name, env string) string {
	t.Helper()
	if p := os.Getenv(env); env != "" && p != "" {
		return p
	}
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("LLMSWEEP_CI_LINT") == "1" {
			t.Fatalf("%s is not installed: run tools/ci/ensure.sh", name)
		}
		t.Skipf("%s is not installed (tools/ci/ensure.sh installs it)", name)
	}
	return p
}

// TestActionlint runs actionlint, with shellcheck on each run: script, on the
// repository's workflow (which uses ./ci/github, so the action's inputs are
// checked too), the shipped examples and every workflow in docs/.
func TestActionlint(t *testing.T) {
	actionlint := tool(t, "actionlint", "LLMSWEEP_ACTIONLINT")
	shellcheck := tool(t, "shellcheck", "")
	files, err := filepath.Glob("../.github/workflows/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"github/plan.yml", "github/apply.yml"} {
		files = append(files, f)
	}
	docs := docWorkflows(t)
	if len(docs) == 0 {
		t.Fatal("no workflow found in docs/: the docs should show how to use the action")
	}
	tmp := t.TempDir()
	for name, body := range docs {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	cmd := exec.Command(actionlint, append([]string{"-shellcheck", shellcheck}, files...)...)
	cmd.Dir = "." // actionlint finds the repository (and ./ci/github) from here
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("actionlint %s: %v\n%s", strings.Join(files, " "), err, out)
	}
}

// docWorkflows returns the GitHub workflows shown in docs/*.md, named for
// their file and line.
func docWorkflows(t *testing.T) map[string]string {
	t.Helper()
	mds, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?ms)^```ya?ml\n(.*?)^```")
	out := map[string]string{}
	for _, md := range mds {
		b, err := os.ReadFile(md)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range block.FindAllSubmatchIndex(b, -1) {
			body := string(b[m[2]:m[3]])
			if !regexp.MustCompile(`(?m)^on:`).MatchString(body) || !regexp.MustCompile(`(?m)^jobs:`).MatchString(body) {
				continue
			}
			line := 1 + bytes.Count(b[:m[2]], []byte("\n"))
			out[fmt.Sprintf("%s-line%d.yml", filepath.Base(md), line)] = body
		}
	}
	return out
}

// TestShellScripts shellchecks the shipped scripts, and the scripts inside the
// composite action and the GitLab template.
func TestShellScripts(t *testing.T) {
	shellcheck := tool(t, "shellcheck", "")
	for _, f := range []string{"run.sh", "github/post-comment.sh", "gitlab/post-note.sh", "../tools/ci/ensure.sh"} {
		if out, err := exec.Command(shellcheck, f).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", f, err, out)
		}
	}
	scripts := actionScripts(t)
	for name, s := range gitlabScripts(t, readTemplate(t)) {
		scripts["ci/gitlab/llmsweep.gitlab-ci.yml "+name] = s
	}
	for name, s := range scripts {
		cmd := exec.Command(shellcheck, "-s", "bash", "-")
		cmd.Stdin = strings.NewReader(s)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s\n--- the script:\n%s", name, err, out, s)
		}
	}
}

// TestNoExpressionsInScripts keeps ${{ }} out of the action's scripts: an
// expression is pasted into the script's text before it runs, so a value with
// a quote breaks it or injects code. Values go through env: instead.
func TestNoExpressionsInScripts(t *testing.T) {
	for name, s := range actionScripts(t) {
		if strings.Contains(s, "${{") {
			t.Errorf("%s: an expression in a script; pass it through env:", name)
		}
	}
}

// action is the part of action.yml these tests read.
type action struct {
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			Name  string            `yaml:"name"`
			ID    string            `yaml:"id"`
			If    string            `yaml:"if"`
			Shell string            `yaml:"shell"`
			Env   map[string]string `yaml:"env"`
			Run   string            `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

func actionScripts(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("github/action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a action
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatalf("github/action.yml: %v", err)
	}
	if a.Runs.Using != "composite" || len(a.Runs.Steps) == 0 {
		t.Fatalf("github/action.yml: want a composite action with steps, got using %q and %d steps", a.Runs.Using, len(a.Runs.Steps))
	}
	out := map[string]string{}
	for i, s := range a.Runs.Steps {
		if s.Shell != "bash" {
			t.Errorf("github/action.yml step %d (%s): shell %q, want bash", i, s.Name, s.Shell)
		}
		out[fmt.Sprintf("ci/github/action.yml step %d (%s)", i, s.Name)] = s.Run
	}
	return out
}

// gitlabJob is a job of the template, decoded strictly: a key that GitLab does
// not know, or that this test does not expect, fails.
type gitlabJob struct {
	Image        string            `yaml:"image"`
	Extends      string            `yaml:"extends"`
	Stage        string            `yaml:"stage"`
	Variables    map[string]string `yaml:"variables"`
	BeforeScript []string          `yaml:"before_script"`
	Script       []string          `yaml:"script"`
	Rules        []struct {
		If      string   `yaml:"if"`
		Changes []string `yaml:"changes"`
	} `yaml:"rules"`
	Environment *struct {
		Name string `yaml:"name"`
	} `yaml:"environment"`
	ResourceGroup string `yaml:"resource_group"`
	Artifacts     *struct {
		When     string   `yaml:"when"`
		Paths    []string `yaml:"paths"`
		ExpireIn string   `yaml:"expire_in"`
	} `yaml:"artifacts"`
}

type gitlabTemplate struct {
	Variables map[string]string
	Jobs      map[string]gitlabJob
}

func readTemplate(t *testing.T) gitlabTemplate {
	t.Helper()
	const path = "gitlab/llmsweep.gitlab-ci.yml"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]yaml.Node
	if err := yaml.Unmarshal(b, &top); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tpl := gitlabTemplate{Jobs: map[string]gitlabJob{}}
	for key, node := range top {
		if key == "variables" {
			if err := node.Decode(&tpl.Variables); err != nil {
				t.Fatalf("%s: variables: %v", path, err)
			}
			continue
		}
		// Node.Decode is not strict: re-encode and decode with KnownFields.
		raw, err := yaml.Marshal(&node)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		var j gitlabJob
		if err := dec.Decode(&j); err != nil {
			t.Fatalf("%s: job %s (line %d): %v", path, key, node.Line, err)
		}
		tpl.Jobs[key] = j
	}
	return tpl
}

// gitlabScripts returns each job's shell script as the runner runs it: the
// template's variables, the job's before_script (its own or the one it
// extends) and script, in one shell.
func gitlabScripts(t *testing.T, tpl gitlabTemplate) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, j := range tpl.Jobs {
		if len(j.Script) == 0 {
			continue // a hidden base job
		}
		before := j.BeforeScript
		if base, ok := tpl.Jobs[j.Extends]; ok && before == nil {
			before = base.BeforeScript
		}
		var b strings.Builder
		b.WriteString("#!/usr/bin/env bash\nset -eo pipefail\n")
		for k := range tpl.Variables {
			fmt.Fprintf(&b, "export %s=${%s:-}\n", k, k) // set by the runner
		}
		for _, line := range append(append([]string{}, before...), j.Script...) {
			b.WriteString(line + "\n")
		}
		out[name] = b.String()
	}
	return out
}

// TestGitLabTemplate checks the template's jobs: the plan job on merge requests
// running ci/run.sh and posting the note, the apply job on the default branch
// in a protected environment, applying with --prune and waiting.
func TestGitLabTemplate(t *testing.T) {
	tpl := readTemplate(t)
	plan, ok := tpl.Jobs["llmsweep-plan"]
	if !ok {
		t.Fatal("no llmsweep-plan job")
	}
	apply, ok := tpl.Jobs["llmsweep-apply"]
	if !ok {
		t.Fatal("no llmsweep-apply job")
	}
	base, ok := tpl.Jobs[plan.Extends]
	if !ok || base.Image == "" || len(base.BeforeScript) == 0 {
		t.Fatalf("llmsweep-plan extends %q, which should name the job that installs llmsweep", plan.Extends)
	}
	scripts := gitlabScripts(t, tpl)
	for _, c := range []struct {
		job, want string
	}{
		{"llmsweep-plan", `bash "$LLMSWEEP_CI_DIR/run.sh"`},
		{"llmsweep-plan", `gitlab/post-note.sh`},
		{"llmsweep-plan", `CI_MERGE_REQUEST_LABELS`},
		{"llmsweep-apply", `llmsweep apply --prune --allow-over-budget "$dir"`},
		{"llmsweep-apply", `llmsweep status --wait --timeout "$LLMSWEEP_STATUS_TIMEOUT"`},
	} {
		if !strings.Contains(scripts[c.job], c.want) {
			t.Errorf("%s's script lacks %s", c.job, c.want)
		}
	}
	if len(plan.Rules) == 0 || !strings.Contains(plan.Rules[0].If, "merge_request_event") {
		t.Errorf("llmsweep-plan should run on merge requests, has rules %+v", plan.Rules)
	}
	if plan.Variables["GIT_DEPTH"] != "0" {
		t.Errorf("llmsweep-plan needs the history for the merge base: GIT_DEPTH is %q", plan.Variables["GIT_DEPTH"])
	}
	if len(apply.Rules) == 0 || !strings.Contains(apply.Rules[0].If, "CI_DEFAULT_BRANCH") || apply.Environment == nil {
		t.Errorf("llmsweep-apply should run on the default branch in an environment, has rules %+v, environment %+v", apply.Rules, apply.Environment)
	}
}

// TestMarker checks that the posting scripts look for the marker that the
// comment starts with.
func TestMarker(t *testing.T) {
	for _, f := range []string{"github/post-comment.sh", "gitlab/post-note.sh"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("marker='"+prcomment.Marker+"'")) {
			t.Errorf("%s does not look for the marker %s", f, prcomment.Marker)
		}
	}
}
