// Package catalog embeds the catalog's CUE files, so that the binary can vet and
// compile campaigns outside a checkout of this repository.
package catalog

import "embed"

// FS holds the catalog's CUE files.
//
//go:embed *.cue
var FS embed.FS
