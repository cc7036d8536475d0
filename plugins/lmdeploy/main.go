// Command llmsweep-plugin-lmdeploy is the llmsweep adapter for LMDeploy's
// api_server on the TurboMind engine.
package main

import "github.com/llmsweep/llmsweep/plugins/sdk"

func main() { sdk.Serve(adapter()) }
