// Command llmsweep-plugin-trtllm is the llmsweep adapter for TensorRT-LLM's
// OpenAI-compatible server (trtllm-serve, PyTorch backend).
package main

import (
	_ "embed"
	"sync"

	"github.com/llmsweep/llmsweep/plugins/sdk"
	"github.com/llmsweep/llmsweep/plugins/sdk/catalogsnap"
)

// version is the plugin's own version, not TensorRT-LLM's.
const version = "0.1.0"

// snapshot is TensorRT-LLM's entry of the llmsweep catalog (catalog/frameworks.cue):
// its versions and images, what it runs on which GPU, and its launcher, where
// each flag cites its source. go test -update rewrites it from the catalog.
//
//go:embed framework.json
var snapshot []byte

// framework is parsed on first use, so that go test -update can still rewrite a
// snapshot that no longer parses.
var framework = sync.OnceValue(func() *catalogsnap.Framework { return catalogsnap.MustParse(snapshot) })

func adapter() *sdk.Adapter { return framework().Adapter(version) }

func main() { sdk.Serve(adapter()) }
