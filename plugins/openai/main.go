// Command llmsweep-plugin-openai is the llmsweep adapter for any server that
// speaks the OpenAI API: llama.cpp's llama-server, ollama, or a running vLLM.
package main

import "github.com/llmsweep/llmsweep/plugins/sdk"

func main() { sdk.Serve(adapter()) }
