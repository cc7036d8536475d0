// Command llmsweep-plugin-vllm is the llmsweep adapter for vLLM's OpenAI-compatible
// server.
package main

import "github.com/llmsweep/llmsweep/plugins/sdk"

func main() { sdk.Serve(adapter()) }
