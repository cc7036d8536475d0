// Command llmsweep-plugin-tgi is the llmsweep adapter for Hugging Face Text
// Generation Inference.
package main

import "github.com/llmsweep/llmsweep/plugins/sdk"

func main() { sdk.Serve(adapter()) }
