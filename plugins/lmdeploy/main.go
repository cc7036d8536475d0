// Command llmsweep-plugin-lmdeploy is the llmsweep adapter for
// LMDeploy's api_server on its TurboMind engine.
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

// plugin's version is the plugin's own, not LMDeploy's.
var plugin = &catalogsnap.Plugin{Snapshot: snapshot, Version: "0.1.0"}

func main() { sdk.Serve(plugin.Adapter()) }
