package hub

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/testing/hubtest"
)

// fakeHub is the shared fake Hub (internal/testing/hubtest) with the helpers
// these tests use: model repos made from the catalog and fixtures.
type fakeHub struct {
	*hubtest.Hub
	token string
}

func newFakeHub(t *testing.T) *fakeHub {
	t.Helper()
	return &fakeHub{Hub: hubtest.New(t), token: hubtest.Token}
}

// client is a Client of h that records its sleeps instead of sleeping.
func (h *fakeHub) client(sleeps *[]time.Duration) *Client {
	// A fresh connection per request: the transport never retries on its
	// own, so the tests see every retry the client makes.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	return &Client{
		BaseURL: h.URL,
		HTTP:    &http.Client{Transport: tr},
		Backoff: 10 * time.Millisecond,
		Sleep:   func(d time.Duration) { *sleeps = append(*sleeps, d) },
	}
}

func (h *fakeHub) requests() []hubtest.Request { return h.Requests() }

func (h *fakeHub) paths() []string { return h.Paths() }

// add serves a repo with the config fixture of model; info is the info
// fixture, or a minimal one made from m when info is "".
func (h *fakeHub) add(t *testing.T, m campaign.Model, configFile, infoFile string) *hubtest.Repo {
	t.Helper()
	r := &hubtest.Repo{SHA: "9f2c1e0d4b3a29180716253443526170819a0b1c", Gated: m.HF.Gated, Files: map[string][]byte{}}
	if configFile != "" {
		r.Files["config.json"] = readFile(t, configFile)
	}
	if infoFile != "" {
		r.Info = readFile(t, infoFile)
		var v struct{ SHA string }
		if err := json.Unmarshal(r.Info, &v); err != nil {
			t.Fatal(err)
		}
		r.SHA = v.SHA
	} else {
		gated := any(false)
		if m.HF.Gated {
			gated = "auto"
		}
		b, err := json.Marshal(map[string]any{
			"id": m.HF.Repo, "modelId": m.HF.Repo, "sha": r.SHA, "private": false, "disabled": false,
			"gated": gated, "cardData": map[string]any{"license": m.License},
			"config":   map[string]any{"architectures": []string{m.Architecture}},
			"siblings": []map[string]string{{"rfilename": ".gitattributes"}, {"rfilename": "config.json"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		r.Info = b
	}
	return h.Model(m.HF.Repo, r)
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// catalogModel is the entry of testdata/models.json, a copy of the catalog's
// values in the JSON that campaign decodes.
func catalogModel(t *testing.T, name string) campaign.Model {
	t.Helper()
	var all map[string]campaign.Model
	if err := json.Unmarshal(readFile(t, "models.json"), &all); err != nil {
		t.Fatal(err)
	}
	m, ok := all[name]
	if !ok {
		t.Fatalf("no model %q in testdata/models.json", name)
	}
	return m
}
