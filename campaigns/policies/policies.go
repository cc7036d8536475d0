// Package policies embeds the ranking policies shipped with llmsweep, so that
// `llmsweep rank --policy balanced` and the reports rank with them outside a
// checkout of this repository (see campaign.ShippedPolicies).
package policies

import "embed"

// FS holds the policies' CUE files.
//
//go:embed *.cue
var FS embed.FS
