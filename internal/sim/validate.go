package sim

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/llmsweep/llmsweep/internal/campaign"
)

// PointsHeader is the header of a published points file
// (testdata/published/points.csv).
var PointsHeader = []string{"id", "framework", "framework_version", "gpu", "gpu_count", "model_hf", "quantization",
	"input_tokens", "output_tokens", "concurrency", "request_rate", "metric", "value", "unit", "source_url", "citation", "notes"}

// Skipped is a row of a points file the model cannot use, and why.
type Skipped struct {
	ID     string `json:"id"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// maxSimRequests bounds the requests simulated for one point; published runs
// of thousands of requests are in steady state long before.
const maxSimRequests = 2000

var requestCount = regexp.MustCompile(`(\d[\d,]*) (?:ShareGPT )?(?:prompts|requests)`)

// ReadPoints reads a published points file. Rows the model cannot place (a
// GPU, model or quantization it does not know) are returned as skipped with the
// reason; a malformed file is an error naming the line and column.
func ReadPoints(r io.Reader, name string, set *campaign.Set) ([]Point, []Skipped, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	for i, h := range PointsHeader {
		if i >= len(head) {
			return nil, nil, fmt.Errorf("%s:1: column %d, %q, is missing (header %s)", name, i+1, h, strings.Join(PointsHeader, ","))
		}
		if head[i] != h {
			return nil, nil, fmt.Errorf("%s:1: column %d is %q, want %q (header %s)", name, i+1, head[i], h, strings.Join(PointsHeader, ","))
		}
	}
	var points []Point
	var skipped []Skipped
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(PointsHeader) {
			return nil, nil, fmt.Errorf("%s:%d: %d fields, want %d", name, line, len(rec), len(PointsHeader))
		}
		row := map[string]string{}
		for i, h := range PointsHeader {
			row[h] = strings.TrimSpace(rec[i])
		}
		p, why, err := point(row, set)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %s: %v", name, line, row["id"], err)
		}
		if why != "" {
			skipped = append(skipped, Skipped{ID: row["id"], Line: line, Reason: why})
			continue
		}
		points = append(points, p)
	}
	return points, skipped, nil
}

// point turns a row into a point: an error for a malformed value, a reason for
// a row the model cannot place.
func point(row map[string]string, set *campaign.Set) (Point, string, error) {
	p := Point{ID: row["id"], Framework: row["framework"], Metric: row["metric"], Util: 0.9}
	num := func(k string) (float64, error) {
		v, err := strconv.ParseFloat(row[k], 64)
		if err != nil || math.IsNaN(v) || v <= 0 {
			return 0, fmt.Errorf("%s %q is not a positive number", k, row[k])
		}
		return v, nil
	}
	var err error
	if p.Value, err = num("value"); err != nil {
		return p, "", err
	}
	switch p.Metric {
	case MetricTTFT, MetricTPOT, MetricThroughput:
	default:
		return p, "", fmt.Errorf("metric %q is not %s, %s or %s", p.Metric, MetricTTFT, MetricTPOT, MetricThroughput)
	}
	in, err := num("input_tokens")
	if err != nil {
		return p, "", err
	}
	out, err := num("output_tokens")
	if err != nil {
		return p, "", err
	}
	gpus, err := strconv.Atoi(row["gpu_count"])
	if err != nil || gpus <= 0 {
		return p, "", fmt.Errorf("gpu_count %q is not a positive integer", row["gpu_count"])
	}

	var ok bool
	if p.Model, ok = FindModel(set, row["model_hf"]); !ok {
		return p, fmt.Sprintf("no architecture for %s (not in the catalog nor among the built-in models)", row["model_hf"]), nil
	}
	if p.Hardware, ok = findHardware(set, row["gpu"], gpus); !ok {
		return p, fmt.Sprintf("no catalog hardware with gpu.model %s", row["gpu"]), nil
	}
	qn := row["quantization"]
	switch qn {
	case "int8", "w8a8":
		qn = "int8-w8a8"
	case "awq":
		qn = "int4-awq"
	case "gptq":
		qn = "int4-gptq"
	}
	if p.Quant, ok = set.Quantizations[qn]; !ok {
		return p, fmt.Sprintf("no catalog quantization %s", row["quantization"]), nil
	}

	n := 500
	if m := requestCount.FindStringSubmatch(row["notes"]); m != nil {
		n, _ = strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
	}
	l := Load{Input: campaign.Distribution{Kind: "fixed", Value: int(in)}, Output: campaign.Distribution{Kind: "fixed", Value: int(out)}}
	switch {
	case row["concurrency"] != "":
		c, err := strconv.Atoi(row["concurrency"])
		if err != nil || c <= 0 {
			return p, "", fmt.Errorf("concurrency %q is not a positive integer", row["concurrency"])
		}
		l.Concurrency = c
		n = max(n, 4*c)
	case row["request_rate"] == "inf" || row["request_rate"] == "":
		// Every request queued at once (offline throughput runs).
		l.Concurrency = math.MaxInt32
	default:
		r, err := num("request_rate")
		if err != nil {
			return p, "", err
		}
		l.Rate = r
		l.Burstiness = 1
	}
	l.Requests = min(n, maxSimRequests)
	l.Concurrency = min(l.Concurrency, l.Requests)
	p.Load = l
	return p, "", nil
}

// findHardware returns the catalog shape with that GPU and count, else one with
// that GPU resized to count (its interconnect and prices stay).
func findHardware(set *campaign.Set, gpu string, count int) (campaign.Hardware, bool) {
	var names []string
	for n, h := range set.Hardware {
		if h.GPU.Model == gpu {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return campaign.Hardware{}, false
	}
	sort.Strings(names)
	for _, n := range names {
		if set.Hardware[n].Count == count {
			return set.Hardware[n], true
		}
	}
	h := set.Hardware[names[len(names)-1]]
	h.Count = count
	return h, true
}

// MetricResult is the error on one metric.
type MetricResult struct {
	Metric string `json:"metric"`
	// Train and Test count the points; the MdAPEs are percentages.
	Train          int     `json:"train"`
	Test           int     `json:"test"`
	TestMdAPE      float64 `json:"test_mdape"`
	TrainMdAPE     float64 `json:"train_mdape"`
	DefaultsMdAPE  float64 `json:"defaults_test_mdape"`
	WorstID        string  `json:"worst_id,omitempty"`
	WorstErrorPerc float64 `json:"worst_error_pct,omitempty"`
}

// Validation is the outcome of Validate.
type Validation struct {
	Points  int            `json:"points"`
	Skipped []Skipped      `json:"skipped,omitempty"`
	Metrics []MetricResult `json:"metrics"`
	Fits    []Fit          `json:"fits"`
}

// Validate fits the efficiency factors on every other point of each metric
// (in id order: points 0, 2, 4, ... train; 1, 3, 5, ... test) and measures the
// median absolute percentage error on the held-out half, next to the error of
// the unfitted defaults t.
func Validate(t Table, points []Point) Validation {
	v := Validation{Points: len(points)}
	byMetric := map[string][]Point{}
	for _, p := range points {
		byMetric[p.Metric] = append(byMetric[p.Metric], p)
	}
	var train, test []Point
	for _, m := range []string{MetricTPOT, MetricThroughput, MetricTTFT} {
		ps := byMetric[m]
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].ID < ps[j].ID })
		for i, p := range ps {
			if i%2 == 0 {
				train = append(train, p)
			} else {
				test = append(test, p)
			}
		}
	}
	fitted, fits := Calibrate(t, train)
	v.Fits = fits
	pick := func(ps []Point, m string) []Point {
		var out []Point
		for _, p := range ps {
			if p.Metric == m {
				out = append(out, p)
			}
		}
		return out
	}
	with := func(tab Table) func(Point) Efficiency {
		return func(p Point) Efficiency { return tab.For(p.Framework, p.Hardware.GPU.Arch) }
	}
	for _, m := range []string{MetricTPOT, MetricThroughput, MetricTTFT} {
		tr, te := pick(train, m), pick(test, m)
		r := MetricResult{Metric: m, Train: len(tr), Test: len(te),
			TestMdAPE: MdAPE(te, with(fitted)), TrainMdAPE: MdAPE(tr, with(fitted)), DefaultsMdAPE: MdAPE(te, with(t))}
		for _, p := range te {
			pred, err := p.Predict(fitted.For(p.Framework, p.Hardware.GPU.Arch))
			e := 100.0
			if err == nil {
				e = 100 * math.Abs(pred-p.Value) / p.Value
			}
			if e > r.WorstErrorPerc {
				r.WorstID, r.WorstErrorPerc = p.ID, e
			}
		}
		v.Metrics = append(v.Metrics, r)
	}
	return v
}
