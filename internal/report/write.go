package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/llmsweep/llmsweep/internal/store"
)

// Formats are the formats Write knows, in the order it writes them.
var Formats = []string{"json", "html", "pdf"}

// DefaultOut is where reports go unless told otherwise.
const DefaultOut = ".llmsweep/reports"

// Paths are the files Write wrote, by format; Latest holds the stable
// latest.<format> copies.
type Paths struct {
	Files  map[string]string `json:"files"`
	Latest map[string]string `json:"latest"`
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// CheckFormats validates a list of formats (empty means all).
func CheckFormats(formats []string) ([]string, error) {
	if len(formats) == 0 {
		return Formats, nil
	}
	for _, f := range formats {
		if !slices.Contains(Formats, f) {
			return nil, fmt.Errorf("unknown report format %q: want json, html or pdf", f)
		}
	}
	return formats, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Write builds the report of opt's run from st and writes it under opt.Out as
// <campaign>-<run>.<format>, plus latest.<format> copies. Everything is
// rendered before the first file is written, so a report that cannot be made
// (ErrEmpty included) writes nothing.
func Write(ctx context.Context, st store.Store, opt Options) (Paths, error) {
	formats, err := CheckFormats(opt.Formats)
	if err != nil {
		return Paths{}, err
	}
	r, err := Build(ctx, st, opt)
	if err != nil {
		return Paths{}, err
	}
	top := opt.Top
	if top <= 0 {
		top = 10
	}
	out := opt.Out
	if out == "" {
		out = DefaultOut
	}
	rendered := map[string][]byte{}
	for _, f := range formats {
		var b bytes.Buffer
		switch f {
		case "json":
			err = WriteJSON(&b, r)
		case "html":
			err = WriteHTML(&b, r, top)
		case "pdf":
			err = WritePDF(&b, r, top)
		}
		if err != nil {
			return Paths{}, fmt.Errorf("report %s: %w", f, err)
		}
		rendered[f] = b.Bytes()
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return Paths{}, fmt.Errorf("report: %w", err)
	}
	base := unsafeName.ReplaceAllString(r.Campaign+"-"+r.Run.ID, "_")
	base = strings.Trim(base, ".")
	p := Paths{Files: map[string]string{}, Latest: map[string]string{}}
	for _, f := range formats {
		file := filepath.Join(out, base+"."+f)
		latest := filepath.Join(out, "latest."+f)
		for _, path := range []string{file, latest} {
			if err := writeFile(path, rendered[f]); err != nil {
				return p, fmt.Errorf("report: %w", err)
			}
		}
		p.Files[f], p.Latest[f] = file, latest
	}
	return p, nil
}

// writeFile replaces path atomically, so that a reader never sees half a report.
func writeFile(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".report-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
