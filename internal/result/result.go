// Package result holds what a run produces, decoded once (DESIGN 11): the run,
// each config's Result (its resolved config, metric summary, accuracy,
// utilization and provenance) and its failures. The run log, the store, the
// ranking, the report, the catalog service and the CLI all pass these types;
// none of them decodes a result's JSON on its own.
package result

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/llmsweep/llmsweep/internal/accuracy"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/metrics"
	"github.com/llmsweep/llmsweep/internal/telemetry"
)

// Kind is where a result's numbers come from.
type Kind string

const (
	// Measured numbers were measured against a server.
	Measured Kind = "measured"
	// Predicted numbers come from a performance model (the sim engine).
	Predicted Kind = "predicted"
	// Imported numbers were measured by another tool and read from its file.
	Imported Kind = "imported"
)

// Kinds lists the kinds, in the order they are shown.
var Kinds = []Kind{Measured, Predicted, Imported}

// ParseKind checks a kind's name.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("provenance %q: want measured, predicted or imported", s)
}

// Provenance says where a result's numbers come from: a typed field, and a
// column in the store, that every reader uses instead of guessing from text.
type Provenance struct {
	Kind Kind `json:"kind"`
	// Tool made the numbers: the performance model of a prediction, or the tool
	// that wrote an imported file (vllm bench serve, genai-perf, aiperf, ...).
	Tool    string `json:"tool,omitempty"`
	Version string `json:"version,omitempty"`
}

// String is the provenance for people: "measured", "predicted by llmsweep-sim 2".
func (p Provenance) String() string {
	s := string(p.Kind)
	switch p.Kind {
	case Predicted:
		s += " by"
	case Imported:
		s += " from"
	}
	if p.Tool != "" {
		s += " " + p.Tool
		if p.Version != "" {
			s += " " + p.Version
		}
	}
	return s
}

// Run is one run of a campaign: what `run`, `exec` (one workflow) or an import made.
type Run struct {
	ID         string    `json:"id"`
	Campaign   string    `json:"campaign"`
	MatrixHash string    `json:"matrix_hash"`
	Configs    int       `json:"configs"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished,omitzero"` // zero while unfinished
	// Engine names the engine that served every config of a local run instead
	// of the configs' own frameworks (see Result.Engine); empty otherwise.
	Engine string `json:"engine,omitempty"`
}

// Result is a config's outcome in a run; storing it marks the config done.
type Result struct {
	Run string `json:"run"`
	// Fingerprint is the result's identity: the config's own fingerprint, or,
	// when another engine served it, one derived from it and the engine (see
	// Identity), so that such a result never stands in for the config.
	Fingerprint string        `json:"fingerprint"`
	Config      matrix.Config `json:"config"`
	// Engine names the engine that served the config instead of its own
	// framework on its hardware: "sim", or a plugin and the model it served
	// ("openai:tiny"). Empty when the config's own server measured it.
	Engine      string             `json:"engine,omitempty"`
	Provenance  Provenance         `json:"provenance"`
	Attempts    int                `json:"attempts"`
	Summary     metrics.Summary    `json:"summary"`
	Accuracy    *accuracy.Result   `json:"accuracy,omitempty"`
	Utilization *telemetry.Summary `json:"utilization,omitempty"`
	// ServedBy says for people what served the requests (plugin, URL, model).
	ServedBy string    `json:"served_by"`
	Finished time.Time `json:"finished"`
	// Import says where an imported result came from; nil for the others.
	Import *Import `json:"import,omitempty"`
}

// Import is what an imported result keeps of its file besides the figures:
// the file, the client's backend and endpoint (never the server, which is
// the config's framework), the load the tool offered, the labels and the
// numbers with no Summary field, and what the file did not carry.
type Import struct {
	File   string `json:"file"`   // the file's base name
	SHA256 string `json:"sha256"` // of the file's bytes
	// Index and Name tell the results of one file apart (vLLM's
	// --append-result, a sweep's summary, GuideLLM's benchmarks).
	Index  int    `json:"index,omitempty"`
	Name   string `json:"name,omitempty"`
	Format string `json:"format"`
	// ClientBackend is the benchmark client's backend or API flavour (vLLM's
	// --backend openai-chat, GenAI-Perf's service kind).
	ClientBackend string `json:"client_backend,omitempty"`
	Endpoint      string `json:"endpoint,omitempty"`
	// OfferedRate is the request rate the tool offered, in requests/s;
	// AllAtOnce is set for vLLM's "inf" (every request at once, or as fast
	// as the client goes). Both are unset for a closed loop.
	OfferedRate float64 `json:"offered_rate,omitempty"`
	AllAtOnce   bool    `json:"all_at_once,omitempty"`
	Concurrency int     `json:"concurrency,omitempty"`
	Date        string  `json:"date,omitempty"` // the run's date as the file writes it
	// Label is vLLM's --label; Labels the file's other strings (--metadata
	// KEY=VALUE, GuideLLM's strategy, AIPerf's benchmark ID).
	Label  string            `json:"label,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	// Extra holds the file's numbers with no Summary field: a sweep's
	// parameters, p99.9, peak figures.
	Extra map[string]float64 `json:"extra,omitempty"`
	// Missing names the Summary fields the file does not carry; Notes say
	// where the tool's metric definitions differ from ours.
	Missing []string `json:"missing,omitempty"`
	Notes   []string `json:"notes,omitempty"`
	// Matched says how the result was matched to its config: "config" (a
	// fingerprint given), "campaign" (found in a campaign's matrix), or ""
	// (a config of its own, made from the file).
	Matched string `json:"matched,omitempty"`
}

// Identity is the fingerprint a result of config fp served by engine is kept
// under: fp itself for the config's own server, else a hash of both.
func Identity(fp, engine string) string {
	if engine == "" {
		return fp
	}
	sum := sha256.Sum256([]byte(fp + "\x00engine=" + engine))
	return hex.EncodeToString(sum[:])
}

// Label names the result's config for people; a result from another engine
// says which, so that it never reads as the config's own.
func (r *Result) Label() string {
	label := r.Config.Label()
	if load := r.Load(); load != matrix.Load(r.Config.Concurrency, r.Config.RequestRate) {
		label = strings.TrimSuffix(label, matrix.Load(r.Config.Concurrency, r.Config.RequestRate)) + load
	}
	if r.Engine == "" {
		return label
	}
	return label + " @" + r.Engine
}

// Load names the result's load point: its config's, or for an imported
// result whose tool sent every request at once with no cap (vLLM's
// request_rate "inf"), "inf/s", which no config can hold.
func (r *Result) Load() string {
	c := &r.Config
	if r.Import != nil && r.Import.AllAtOnce && c.Concurrency == 0 && c.RequestRate == 0 {
		return "inf/s"
	}
	return matrix.Load(c.Concurrency, c.RequestRate)
}

// Values are the result's metrics under their schema #Metric names: latency and
// throughput from the summary, accuracy, and utilization. What was not
// measured is not in the map.
func (r *Result) Values() map[string]float64 {
	m := r.Summary.Values()
	if r.Accuracy != nil && r.Accuracy.Samples > 0 {
		m["accuracy"] = r.Accuracy.Accuracy
	}
	maps.Copy(m, r.Utilization.Values())
	return m
}

// Failure is a failed attempt of a config, or its failure for good (Final)
// once it has failed every attempt. Either voids the attempt's records.
type Failure struct {
	Run         string    `json:"run,omitempty"`
	Fingerprint string    `json:"fingerprint"`
	Attempt     int       `json:"attempt"`
	Final       bool      `json:"final"`
	Reason      string    `json:"reason"`
	Time        time.Time `json:"time"`
	// Config is the config that failed, on a final failure: the store keeps
	// it, so that the review queue can be filtered like results.
	Config *matrix.Config `json:"config,omitempty"`
}

// Definitions collects, by tool, the notes of the imported results among rs
// on where the tool's metric definitions differ from ours (the first result
// of each tool speaks for it), for compare and rank to say so.
func Definitions(rs []Result) map[string][]string {
	out := map[string][]string{}
	for _, r := range rs {
		if r.Provenance.Kind != Imported || r.Import == nil {
			continue
		}
		tool := r.Provenance.Tool
		if tool == "" {
			tool = r.Import.Format
		}
		if _, ok := out[tool]; !ok {
			out[tool] = r.Import.Notes
		}
	}
	return out
}

// WriteDefinitions says, for each tool whose imported results were compared
// or ranked, where its metric definitions differ from llmsweep's.
func WriteDefinitions(w io.Writer, defs map[string][]string) {
	for _, tool := range slices.Sorted(maps.Keys(defs)) {
		if len(defs[tool]) == 0 {
			continue
		}
		fmt.Fprintf(w, "imported from %s: its metric definitions differ from llmsweep's:\n", tool)
		for _, n := range defs[tool] {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
}
