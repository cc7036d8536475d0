package main

import (
	_ "embed"
	"sync"

	"github.com/llmsweep/llmsweep/plugins/sdk"
	"github.com/llmsweep/llmsweep/plugins/sdk/catalogsnap"
)

// version is the plugin's own version, not LMDeploy's.
const version = "0.1.0"

// snapshot is LMDeploy's entry of catalog/frameworks.cue (go test -update rewrites
// it). Its launcher is the command line's one definition, with the source of
// every flag: package launch derives the LaunchSpec from it as the compiler
// derives the manifests' server command.
//
//go:embed framework.json
var snapshot []byte

// framework is parsed on first use, so that go test -update can still rewrite a
// snapshot that no longer parses.
var framework = sync.OnceValue(func() *catalogsnap.Framework { return catalogsnap.MustParse(snapshot) })

func adapter() *sdk.Adapter { return framework().Adapter(version) }

// launch is the adapter's mapping of a config to its server.
func launch(cfg *sdk.ServerConfig) (*sdk.LaunchSpec, error) { return framework().Launch(cfg) }
