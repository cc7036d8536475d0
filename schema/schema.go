// Package schema embeds the CUE schemas, so that the binary checks input against
// exactly the definitions that plain `cue vet` uses in this module.
package schema

import "embed"

// ImportPath is the CUE import path of this package within the module.
const ImportPath = "github.com/llmsweep/llmsweep/schema"

// FS holds the schema's CUE files.
//
//go:embed *.cue
var FS embed.FS
