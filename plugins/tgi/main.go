// Command llmsweep-plugin-tgi is the llmsweep adapter for
// Text Generation Inference (text-generation-launcher).
//
// It is its catalog entry (catalog/frameworks.cue) and nothing else: the entry's
// versions and images, what it runs on which GPU, and its launcher, where each
// flag cites its source. framework.json is the entry's snapshot, which
// go test -update rewrites from the catalog; package launch derives the
// LaunchSpec from it as llmsweep's compiler derives the manifests' command.
package main

import (
	_ "embed"

	"github.com/llmsweep/llmsweep/plugins/sdk"
	"github.com/llmsweep/llmsweep/plugins/sdk/catalogsnap"
)

//go:embed framework.json
var snapshot []byte

// plugin's version is the plugin's own, not TGI's.
var plugin = &catalogsnap.Plugin{Snapshot: snapshot, Version: "0.1.0"}

func main() { sdk.Serve(plugin.Adapter()) }
