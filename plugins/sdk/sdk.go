// Package sdk is the public SDK for llmsweep framework plugins.
//
// A plugin is a separate binary, named llmsweep-plugin-<name>, that llmsweep starts
// with hashicorp/go-plugin and talks to over gRPC. It maps a resolved server config
// to the framework's launcher (LaunchSpec), starts or attaches to a server for local
// runs, and measures it (Run). Timing happens inside the plugin process, so gRPC
// never sits inside a measured interval; the host stores and checkpoints the
// records that Run streams back.
//
// Most plugins need only a launch function: see Adapter. A plugin's main is
//
//	func main() { sdk.Serve(&sdk.Adapter{...}) }
package sdk

import (
	"context"

	"github.com/hashicorp/go-plugin"

	pluginpb "github.com/llmsweep/llmsweep/plugins/sdk/proto"
)

// ProtocolVersion is the version of the plugin protocol this SDK speaks. The host
// refuses a plugin that speaks none of the versions it knows, and says which ones.
const ProtocolVersion = 1

// PluginName is the name of the one plugin a plugin binary serves.
const PluginName = "framework"

// Handshake is the go-plugin handshake. The cookie only stops a plugin binary
// from being run by hand as if it were a program; it is not a security measure.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "LLMSWEEP_PLUGIN",
	MagicCookieValue: "framework-adapter-5b0d3c1e",
}

// The messages are the protocol's own types, so that nothing is converted twice.
type (
	Info              = pluginpb.Info
	FrameworkVersion  = pluginpb.FrameworkVersion
	ServerConfig      = pluginpb.ServerConfig
	Hardware          = pluginpb.Hardware
	ModelArchitecture = pluginpb.ModelArchitecture
	Efficiency        = pluginpb.Efficiency
	LaunchSpec        = pluginpb.LaunchSpec
	Probe             = pluginpb.Probe
	Resources         = pluginpb.Resources
	StartRequest      = pluginpb.StartRequest
	Server            = pluginpb.Server
	HealthRequest     = pluginpb.HealthRequest
	Health            = pluginpb.Health
	BenchmarkSpec     = pluginpb.BenchmarkSpec
	Distribution      = pluginpb.Distribution
	Prompt            = pluginpb.Prompt
	Record            = pluginpb.Record
	Summary           = pluginpb.Summary
)

// Framework is what a plugin implements. Every method honours cancellation of its
// context; Run returns within a second of it.
type Framework interface {
	Info(ctx context.Context) (*Info, error)
	LaunchSpec(ctx context.Context, cfg *ServerConfig) (*LaunchSpec, error)
	Start(ctx context.Context, req *StartRequest) (*Server, error)
	Stop(ctx context.Context, id string) error
	Health(ctx context.Context, req *HealthRequest) (*Health, error)
	// Run measures a server. It calls send for each request record as the request
	// completes, from one goroutine at a time, and returns the summary. An error
	// from send stops the run and is returned.
	Run(ctx context.Context, spec *BenchmarkSpec, send func(*Record) error) (*Summary, error)
}
