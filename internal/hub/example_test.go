package hub_test

import (
	"fmt"

	"github.com/llmsweep/llmsweep/internal/hub"
)

func ExampleReport() {
	fmt.Print(hub.Report("llama-3-8b-instruct", []hub.Mismatch{
		{Field: "max_context", Catalog: "131072", Hub: "8192"},
		{Field: "dtype", Catalog: "bfloat16", Hub: "float32"},
	}))
	// Output:
	// model llama-3-8b-instruct: 2 fields differ between the catalog and the Hub
	//   field        catalog   hub
	//   max_context  131072    8192
	//   dtype        bfloat16  float32
}
