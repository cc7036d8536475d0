package cli

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

// fakeHub answers the two Hub endpoints validate-model reads for one repo, with
// the fixtures of internal/hub, and counts requests.
func fakeHub(t *testing.T, info, config []byte) (*httptest.Server, *int) {
	t.Helper()
	n := new(int)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*n++
		switch {
		case r.URL.Path == "/api/models/meta-llama/Llama-3.1-8B-Instruct/revision/main":
			w.Write(info)
		case strings.HasPrefix(r.URL.Path, "/meta-llama/Llama-3.1-8B-Instruct/resolve/") && strings.HasSuffix(r.URL.Path, "/config.json"):
			w.Write(config)
		default:
			w.Header().Set("X-Error-Code", "RepoNotFound")
			http.Error(w, "Repository not found", http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, n
}

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestValidateModel(t *testing.T) {
	config, err := os.ReadFile("../hub/testdata/llama-3.1-8b-instruct.config.json")
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.ReadFile("../hub/testdata/llama-3.1-8b-instruct.info.json")
	if err != nil {
		t.Fatal(err)
	}
	srv, requests := fakeHub(t, info, config)
	cache := t.TempDir()
	t.Chdir("../..")

	code, out, errs := run(t, "validate-model", "llama-3.1-8b-instruct", "--hub", srv.URL, "--hub-cache", cache)
	if code != 0 || !strings.Contains(out, "llama-3.1-8b-instruct: meta-llama/Llama-3.1-8B-Instruct@0e9e39f249a16976918f6564b8830bc894c89659 matches the catalog") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}

	// A config that disagrees with the catalog fails with a field-by-field report.
	bad := bytes.Replace(config, []byte(`"num_key_value_heads": 8`), []byte(`"num_key_value_heads": 4`), 1)
	if bytes.Equal(bad, config) {
		t.Fatal("fixture lacks num_key_value_heads")
	}
	srv2, _ := fakeHub(t, info, bad)
	code, _, errs = run(t, "validate-model", "llama-3.1-8b-instruct", "--hub", srv2.URL, "--hub-cache", t.TempDir())
	if code != 1 || !strings.Contains(errs, "kv_heads") || !strings.Contains(errs, "8") || !strings.Contains(errs, "4") {
		t.Fatalf("want exit 1 and a kv_heads mismatch, got %d:\n%s", code, errs)
	}

	// vet --online checks every model the campaigns use.
	before := *requests
	code, out, errs = run(t, "vet", "--online", "--hub", srv.URL, "--hub-cache", cache, "campaigns/quickstart.cue")
	if code != 2 || !strings.Contains(errs, "Llama-3.2-1B-Instruct") {
		t.Fatalf("quickstart's model is not on the fake hub: want exit 2 naming it, got %d\n%s\n%s", code, out, errs)
	}
	if *requests == before {
		t.Fatal("vet --online made no request")
	}

	// An unknown model gets a suggestion.
	code, _, errs = run(t, "validate-model", "llama-3.1-8b-instruc", "--hub", srv.URL)
	if code != 2 || !strings.Contains(errs, `did you mean "llama-3.1-8b-instruct"`) {
		t.Fatalf("got %d: %s", code, errs)
	}
}

// TestValidateModelFrontier: DeepSeek-R1's catalog entry matches the fake
// Hub's copy of its config.json; a config with another MLA latent width or
// expert count fails with positioned problems naming the catalog field.
func TestValidateModelFrontier(t *testing.T) {
	config, err := os.ReadFile("../hub/testdata/deepseek-r1.config.json")
	if err != nil {
		t.Fatal(err)
	}
	const sha = "56d4cbbb4d29f4355bab4b9a39ccb717a14ad5ad"
	info := []byte(`{"id": "deepseek-ai/DeepSeek-R1", "modelId": "deepseek-ai/DeepSeek-R1", "sha": "` + sha + `",
		"private": false, "disabled": false, "gated": false,
		"siblings": [{"rfilename": "config.json"}]}`)
	serve := func(config []byte) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.URL.Path == "/api/models/deepseek-ai/DeepSeek-R1/revision/main":
				w.Write(info)
			case r.URL.Path == "/deepseek-ai/DeepSeek-R1/resolve/"+sha+"/config.json":
				w.Write(config)
			default:
				w.Header().Set("X-Error-Code", "RepoNotFound")
				http.Error(w, "Repository not found", http.StatusNotFound)
			}
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	good := serve(config)
	t.Chdir("../..")

	code, out, errs := run(t, "validate-model", "deepseek-r1", "--hub", good, "--hub-cache", t.TempDir())
	if code != 0 || !strings.Contains(out, "deepseek-r1: deepseek-ai/DeepSeek-R1@"+sha+" matches the catalog") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}

	bad := bytes.Replace(config, []byte(`"kv_lora_rank": 512`), []byte(`"kv_lora_rank": 256`), 1)
	bad = bytes.Replace(bad, []byte(`"n_routed_experts": 256`), []byte(`"n_routed_experts": 160`), 1)
	if bytes.Equal(bad, config) {
		t.Fatal("fixture lacks kv_lora_rank or n_routed_experts")
	}
	code, _, errs = run(t, "validate-model", "deepseek-r1", "--hub", serve(bad), "--hub-cache", t.TempDir())
	if code != 1 {
		t.Fatalf("want exit 1, got %d:\n%s", code, errs)
	}
	for _, re := range []string{
		`(?m)^\./catalog/models\.cue:\d+:\d+: models\."deepseek-r1"\.moe\.experts: catalog has 256, config\.json on the Hub has 160$`,
		`(?m)^\./catalog/models\.cue:\d+:\d+: models\."deepseek-r1"\.mla\.kv_lora_rank: catalog has 512, config\.json on the Hub has 256$`,
	} {
		if !regexp.MustCompile(re).MatchString(errs) {
			t.Errorf("stderr lacks %s:\n%s", re, errs)
		}
	}
}
