package hub

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Info is the part of the Hub's repo info (HfApi.model_info) that llmsweep uses.
type Info struct {
	ID  string `json:"id"`
	SHA string `json:"sha"` // the commit the revision resolved to
	// Gated is "" for an open repo, else the Hub's gating mode: "auto" or "manual".
	Gated    string `json:"gated,omitempty"`
	Private  bool   `json:"private"`
	Disabled bool   `json:"disabled,omitempty"`
	// License is cardData.license; a list of licenses is joined with ",".
	License  string    `json:"license,omitempty"`
	Siblings []Sibling `json:"siblings,omitempty"`
	// Config is the Hub's summary of config.json (architectures, model_type,
	// ...), kept raw: the authoritative values come from Client.Config.
	Config json.RawMessage `json:"config,omitempty"`
}

// Sibling is one file of the repo. Size, BlobID and LFS are only in the
// answer to ?blobs=true (HfApi.model_info(files_metadata=True)).
type Sibling struct {
	RFilename string `json:"rfilename"`
	Size      int64  `json:"size,omitempty"`
	BlobID    string `json:"blobId,omitempty"`
	LFS       *LFS   `json:"lfs,omitempty"`
}

// LFS describes a file stored in Git LFS: its content's sha256 and size.
type LFS struct {
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	PointerSize int64  `json:"pointerSize,omitempty"`
}

// HasFile reports whether the repo holds a file of that name.
func (i *Info) HasFile(name string) bool {
	for _, s := range i.Siblings {
		if s.RFilename == name {
			return true
		}
	}
	return false
}

// decodeInfo decodes the Hub's JSON, in which gated is false or a mode
// string and cardData.license a string or a list.
func decodeInfo(b []byte) (*Info, error) {
	var raw struct {
		ID       string          `json:"id"`
		SHA      string          `json:"sha"`
		Gated    json.RawMessage `json:"gated"`
		Private  bool            `json:"private"`
		Disabled bool            `json:"disabled"`
		CardData *struct {
			License json.RawMessage `json:"license"`
		} `json:"cardData"`
		Siblings []Sibling       `json:"siblings"`
		Config   json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, jsonError(err)
	}
	if raw.ID == "" {
		return nil, fmt.Errorf(`field "id" is missing`)
	}
	info := &Info{ID: raw.ID, SHA: raw.SHA, Private: raw.Private, Disabled: raw.Disabled, Siblings: raw.Siblings}
	if len(raw.Config) > 0 && string(raw.Config) != "null" {
		info.Config = raw.Config
	}
	switch g := strings.TrimSpace(string(raw.Gated)); g {
	case "", "null", "false":
	case "true":
		info.Gated = "auto"
	default:
		if err := json.Unmarshal(raw.Gated, &info.Gated); err != nil {
			return nil, fmt.Errorf(`field "gated": want false, "auto" or "manual", got %s`, g)
		}
	}
	if raw.CardData != nil && len(raw.CardData.License) > 0 && string(raw.CardData.License) != "null" {
		var one string
		var many []string
		switch {
		case json.Unmarshal(raw.CardData.License, &one) == nil:
			info.License = one
		case json.Unmarshal(raw.CardData.License, &many) == nil:
			info.License = strings.Join(many, ",")
		default:
			return nil, fmt.Errorf(`field "cardData.license": want a string or a list of strings, got %s`, raw.CardData.License)
		}
	}
	return info, nil
}
