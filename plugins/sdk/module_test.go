package sdk_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// allowedModules are the only modules the SDK's packages, tests included, may
// build with: go-plugin and its logger, gRPC and protobuf, what those pull in,
// and gonum for the load generator's arrival distributions. An author's go get
// of the SDK fetches these and nothing of the toolchain (CUE, Argo, client-go,
// pgx, the store). A new dependency is a decision: add it here, and say so in
// plugins/README.md.
var allowedModules = []string{
	"github.com/fatih/color",                    // go-hclog
	"github.com/golang/protobuf",                // go-plugin
	"github.com/hashicorp/go-hclog",             // the plugin's logger
	"github.com/hashicorp/go-plugin",            // the handshake and process management
	"github.com/hashicorp/yamux",                // go-plugin
	"github.com/mattn/go-colorable",             // go-hclog
	"github.com/mattn/go-isatty",                // go-hclog
	"github.com/oklog/run",                      // go-plugin
	"golang.org/x/net",                          // gRPC
	"golang.org/x/sys",                          // gRPC; loadgen's precise sleep
	"golang.org/x/text",                         // gRPC
	"gonum.org/v1/gonum",                        // loadgen: gamma and lognormal arrivals
	"google.golang.org/genproto/googleapis/rpc", // gRPC status
	"google.golang.org/grpc",                    // the protocol
	"google.golang.org/protobuf",                // the protocol's messages
}

func TestModuleDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", "-f", "{{with .Module}}{{.Path}}{{end}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := map[string]bool{}
	for _, m := range strings.Fields(string(out)) {
		if m == "github.com/llmsweep/llmsweep/plugins/sdk" || seen[m] {
			continue
		}
		seen[m] = true
		if !slices.Contains(allowedModules, m) {
			t.Errorf("the SDK builds with module %s, which is not among its allowed dependencies", m)
		}
	}
	if len(seen) == 0 {
		t.Fatal("go list named no dependency modules at all")
	}
}
