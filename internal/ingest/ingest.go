// Package ingest stores other tools' result files (internal/benchfmt) as
// runs of the results store, so that rank, compare and the report treat them
// as they treat ours: each result of a file becomes a finished run of one
// config, with its provenance typed as imported, its per-request values as
// records, and what the file says besides the figures as result.Import. A
// result whose every request failed is stored as a failure with the reason,
// never as a result whose zeros would win a ranking.
//
// A result is matched to a llmsweep config when the caller says which
// (Options.Config) or gives a campaign's matrix to find it in
// (Options.Match); it is then stored under that config's fingerprint, where a
// measured result of the config is compared with it. Otherwise it gets a
// config of its own, made from the file, that no campaign's config equals.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/llmsweep/llmsweep/internal/benchfmt"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/result"
	"github.com/llmsweep/llmsweep/internal/store"
)

// Options say where imported results go and which config each is of.
type Options struct {
	// Campaign is the campaign the runs belong to; "imported" when empty.
	Campaign string
	// Framework and ServerVersion name the server that served the requests,
	// which the files rarely say (their "backend" is the client's); the
	// file's own word (GenAI-Perf's Triton backend, a vLLM --metadata
	// framework=...) is used where these are empty.
	Framework, ServerVersion string
	// Model, Hardware and Quantization fill in what a file does not say, for
	// a result that gets a config of its own.
	Model, Hardware, Quantization string
	// Config, when set, is the config every result is of: it is stored under
	// the config's fingerprint.
	Config *matrix.Config
	// Match, when set, finds each result's config (in a campaign's matrix,
	// see Matcher); an error fails that file.
	Match func(*benchfmt.Imported) (*matrix.Config, error)
	// Now stamps a run whose file gives no date; time.Now when nil.
	Now func() time.Time
}

// Outcome is what became of one result of a file.
type Outcome struct {
	File     string
	Index    int
	Imported *benchfmt.Imported
	Run      string
	// Fingerprint is the config the result is stored under; Matched says how
	// it was found ("config", "campaign", or "" for a config of its own).
	Fingerprint string
	Matched     string
	Label       string // the config's label, for people
	// Records is the number of per-request records stored, and RecordsFrom
	// the file they came from when it is not File.
	Records     int
	RecordsFrom string
	// Failed is the reason a result was stored as a failure.
	Failed string
}

// FileError is a file that could not be imported.
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string {
	// benchfmt's errors name the file already.
	var be *benchfmt.Error
	if errors.As(e.Err, &be) {
		return e.Err.Error()
	}
	return e.File + ": " + e.Err.Error()
}

func (e *FileError) Unwrap() error { return e.Err }

// parsed is a file read and detected.
type parsed struct {
	path    string
	sum     string
	results []*benchfmt.Imported
	// records is a per-request file of the same tool in the same directory,
	// whose requests become this summary's records.
	records *parsed
}

// Files imports every file, going on past a bad one: the outcomes of those
// that imported, and an error for each that did not, naming its file. A
// per-request file given with the summary file of the same run (same tool,
// same directory: AIPerf's profile_export.jsonl with its
// profile_export_aiperf.json, inference-perf's per_request_ with its
// summary_lifecycle_metrics.json) gives that summary's records instead of a
// result of its own.
func Files(ctx context.Context, st store.Store, paths []string, opt Options) ([]Outcome, []error) {
	var (
		files []*parsed
		errs  []error
	)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, &FileError{File: p, Err: err})
			continue
		}
		ims, err := benchfmt.Parse(p, b)
		if err != nil {
			errs = append(errs, &FileError{File: p, Err: err})
			continue
		}
		sum := sha256.Sum256(b)
		files = append(files, &parsed{path: p, sum: hex.EncodeToString(sum[:]), results: ims})
	}
	files = pair(files)
	var out []Outcome
	for _, f := range files {
		outs, err := store1(ctx, st, f, opt)
		out = append(out, outs...)
		if err != nil {
			errs = append(errs, &FileError{File: f.path, Err: err})
		}
	}
	return out, errs
}

// pair merges each per-request file into the one summary file of the same
// tool in its directory, where there is exactly one.
func pair(files []*parsed) []*parsed {
	summaries := map[string][]*parsed{} // dir + tool -> summary files
	key := func(f *parsed) string {
		return filepath.Dir(f.path) + "\x00" + f.results[0].Format.Tool()
	}
	for _, f := range files {
		if !f.results[0].Format.PerRequest() && len(f.results) == 1 {
			summaries[key(f)] = append(summaries[key(f)], f)
		}
	}
	var out []*parsed
	for _, f := range files {
		if s := summaries[key(f)]; f.results[0].Format.PerRequest() && len(s) == 1 && s[0].records == nil {
			s[0].records = f
			continue
		}
		out = append(out, f)
	}
	return out
}

// store1 stores the results of one file.
func store1(ctx context.Context, st store.Store, f *parsed, opt Options) ([]Outcome, error) {
	var out []Outcome
	for i, im := range f.results {
		o := Outcome{File: f.path, Index: i, Imported: im}
		recsFrom := im
		if f.records != nil {
			recsFrom = f.records.results[0]
			o.RecordsFrom = f.records.path
			im.Notes = append(im.Notes, fmt.Sprintf("The per-request records come from %s, the same run's per-request file.", filepath.Base(f.records.path)))
		}
		if err := storeResult(ctx, st, f, i, im, recsFrom, opt, &o); err != nil {
			return out, err
		}
		out = append(out, o)
	}
	return out, nil
}

func storeResult(ctx context.Context, st store.Store, f *parsed, i int, im, recsFrom *benchfmt.Imported, opt Options, o *Outcome) error {
	cfg, matched, err := configOf(f, i, im, opt)
	if err != nil {
		return err
	}
	o.Fingerprint, o.Matched, o.Label = cfg.Fingerprint, matched, cfg.Label()
	started := im.Source.Time
	if started.IsZero() {
		for _, r := range recsFrom.Requests {
			if r.StartNs != 0 && (started.IsZero() || r.StartNs < started.UnixNano()) {
				started = time.Unix(0, r.StartNs)
			}
		}
	}
	if started.IsZero() {
		now := time.Now
		if opt.Now != nil {
			now = opt.Now
		}
		started = now()
		im.Notes = append(im.Notes, "The file gives no date: the run is stamped with the import's time.")
	}
	id := fmt.Sprintf("import-%s-%d", f.sum[:12], i)
	run, err := st.CreateRun(ctx, result.Run{ID: id, Campaign: cmpOr(opt.Campaign, "imported"), MatrixHash: f.sum, Configs: 1, Started: started})
	if err != nil {
		return err
	}
	o.Run = run.ID
	finished := started
	if d, ok := im.Summary.DurationS.Get(); ok && d > 0 && d < 1e7 {
		finished = started.Add(time.Duration(d * float64(time.Second)))
	}
	if why := im.NothingMeasured(); why != "" {
		o.Failed = why
		if err := st.PutFailure(ctx, result.Failure{Run: run.ID, Fingerprint: cfg.Fingerprint, Attempt: 1, Final: true,
			Reason: why, Time: finished}); err != nil {
			return err
		}
		return st.FinishRun(ctx, run.ID, finished)
	}
	if recsFrom.HasTimings() {
		recs := recsFrom.Records(started)
		if err := st.AppendRecords(ctx, run.ID, cfg.Fingerprint, 1, recs); err != nil {
			return err
		}
		o.Records = len(recs)
	}
	r := result.Result{Run: run.ID, Fingerprint: cfg.Fingerprint, Config: *cfg, Attempts: 1, Summary: im.Summary,
		Provenance: result.Provenance{Kind: result.Imported, Tool: im.Source.Tool, Version: im.Source.ToolVersion},
		ServedBy:   fmt.Sprintf("imported from %s (%s)", filepath.Base(f.path), im.Source.Tool),
		Finished:   finished, Import: details(f, i, im, matched)}
	if err := st.PutResult(ctx, r); err != nil {
		return err
	}
	return st.FinishRun(ctx, run.ID, finished)
}

// details is what the result keeps of its file besides the figures.
func details(f *parsed, i int, im *benchfmt.Imported, matched string) *result.Import {
	src := im.Source
	d := &result.Import{File: filepath.Base(f.path), SHA256: f.sum, Index: i, Name: im.Name, Format: string(im.Format),
		ClientBackend: src.Backend, Endpoint: src.Endpoint, Concurrency: src.Concurrency, Date: src.Date,
		Label: src.Label, Missing: im.Missing, Notes: im.Notes, Matched: matched}
	if len(src.Labels) > 0 {
		d.Labels = maps.Clone(src.Labels)
	}
	if d.Labels == nil && (src.Tokenizer != "" || src.Model != "") {
		d.Labels = map[string]string{}
	}
	if src.Model != "" {
		d.Labels["model_id"] = src.Model
	}
	if src.Tokenizer != "" {
		d.Labels["tokenizer"] = src.Tokenizer
	}
	switch r := src.RequestRate; {
	case math.IsInf(r, 1):
		d.AllAtOnce = true
	case r > 0:
		d.OfferedRate = r
	}
	extra := map[string]float64{}
	for k, v := range im.Extra {
		if !math.IsNaN(v) && !math.IsInf(v, 0) { // JSON holds no NaN
			extra[k] = v
		}
	}
	if len(extra) > 0 {
		d.Extra = extra
	}
	return d
}

// configOf is the config a result is of: the one given, the one matched in
// a campaign, or one made from the file, whose fingerprint hashes the file
// and the result's index so that no campaign config and no other import
// shares it.
func configOf(f *parsed, i int, im *benchfmt.Imported, opt Options) (*matrix.Config, string, error) {
	switch {
	case opt.Config != nil:
		c := *opt.Config
		return &c, "config", nil
	case opt.Match != nil:
		c, err := opt.Match(im)
		if err != nil {
			where := ""
			if im.Name != "" {
				where = " (" + im.Name + ")"
			}
			return nil, "", fmt.Errorf("result %d%s: %w", i, where, err)
		}
		return c, "campaign", nil
	}
	cfg := &matrix.Config{Model: cmpOr(im.Source.Model, opt.Model), Hardware: opt.Hardware,
		Framework: cmpOr(opt.Framework, im.Source.Server), Version: cmpOr(opt.ServerVersion, im.Source.ServerVersion),
		Quantization: opt.Quantization, Workload: "imported:" + string(im.Format), Concurrency: im.Source.Concurrency}
	if r := im.Source.RequestRate; r > 0 && !math.IsInf(r, 0) {
		cfg.RequestRate = r
	}
	key, _ := json.Marshal(struct {
		matrix.Config
		File  string `json:"file"`
		Index int    `json:"index"`
	}{*cfg, f.sum, i})
	fp := sha256.Sum256(key)
	cfg.Fingerprint = hex.EncodeToString(fp[:])
	return cfg, "", nil
}

// Matcher finds a result's config among configs (a campaign's matrix): the
// one of the result's model (by catalog name or checkpoint, the file's
// model_id or Options.Model) and load point (its concurrency or request
// rate), narrowed by the framework, version, hardware and quantization
// given. Exactly one must fit.
func Matcher(configs []matrix.Config, opt Options) func(*benchfmt.Imported) (*matrix.Config, error) {
	return func(im *benchfmt.Imported) (*matrix.Config, error) {
		model := cmpOr(opt.Model, im.Source.Model)
		framework := cmpOr(opt.Framework, im.Source.Server)
		var fit []int
		for i := range configs {
			c := &configs[i]
			switch {
			case model == "" || !strings.EqualFold(c.Model, model) && !strings.EqualFold(c.Repo, model):
			case framework != "" && c.Framework != framework:
			case opt.ServerVersion != "" && c.Version != opt.ServerVersion:
			case opt.Hardware != "" && c.Hardware != opt.Hardware:
			case opt.Quantization != "" && c.Quantization != opt.Quantization:
			case !sameLoad(c, im.Source):
			default:
				fit = append(fit, i)
			}
		}
		load := matrix.Load(im.Source.Concurrency, finite(im.Source.RequestRate))
		switch len(fit) {
		case 1:
			return &configs[fit[0]], nil
		case 0:
			return nil, fmt.Errorf("no config of the campaign is of model %q at %s%s: name it with --config", model, load, narrowed(opt, framework))
		}
		var labels []string
		for _, i := range fit[:min(len(fit), 5)] {
			labels = append(labels, configs[i].Label())
		}
		return nil, fmt.Errorf("%d configs of the campaign are of model %q at %s%s (%s): narrow with --framework, "+
			"--server-version, --hardware or --quantization, or name one with --config", len(fit), model, load,
			narrowed(opt, framework), strings.Join(labels, ", "))
	}
}

func narrowed(opt Options, framework string) string {
	var parts []string
	for _, p := range []struct{ k, v string }{{"framework", framework}, {"version", opt.ServerVersion},
		{"hardware", opt.Hardware}, {"quantization", opt.Quantization}} {
		if p.v != "" {
			parts = append(parts, p.k+" "+p.v)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " with " + strings.Join(parts, ", ")
}

// sameLoad reports whether a config's load point is the file's: the same
// concurrency for a closed loop, the same rate for an open one.
func sameLoad(c *matrix.Config, m benchfmt.Meta) bool {
	if r := finite(m.RequestRate); r > 0 {
		return c.RequestRate == r
	}
	return c.RequestRate == 0 && c.Concurrency == m.Concurrency
}

func finite(r float64) float64 {
	if math.IsInf(r, 0) || math.IsNaN(r) {
		return 0
	}
	return r
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
