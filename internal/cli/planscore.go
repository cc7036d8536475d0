package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"cuelang.org/go/cue/cuecontext"
	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/sim"
)

// scoreArgs are plan's scoring flags: --validate FILE, or --score FILE with an
// optional --fit FILE.
type scoreArgs struct {
	validate, score, fit string
	json                 bool
}

// runScore scores a published points file and prints the errors.
func runScore(cmd *cobra.Command, w io.Writer, args []string, opt campaign.Options, a scoreArgs) error {
	// The catalog, and only the paths given: no campaigns are needed here.
	set, err := campaign.Load(cuecontext.New(), args, opt)
	var probs campaign.Problems
	if errors.As(err, &probs) {
		for _, p := range probs {
			fmt.Fprintln(diag(cmd, slog.LevelWarn), p.Error())
		}
		return exitError{exitFail}
	}
	if err != nil {
		return err
	}
	tab, err := sim.Defaults(set)
	if err != nil {
		return err
	}
	path := a.score
	if a.validate != "" {
		path = a.validate
	}
	points, skipped, err := readPoints(path, set)
	if err != nil {
		return err
	}
	var s sim.Scores
	var trained int
	switch {
	case a.validate != "":
		s = sim.CrossValidate(tab, points)
	case a.fit != "":
		train, _, err := readPoints(a.fit, set)
		if err != nil {
			return err
		}
		trained = len(train)
		s = sim.FitScore(tab, train, points)
	default:
		// plan's own factors: the published fit over the catalog's priors.
		fitted, _, err := sim.Fitted(set)
		if err != nil {
			return err
		}
		s = sim.Score(fitted, points)
	}
	s.Skipped = skipped
	if a.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	switch s.Mode {
	case "leave-one-source-out":
		fmt.Fprintf(w, "leave-one-source-out cross-validation on %s: %d points from %d sources (%d skipped); each source predicted by factors fitted to the others\n",
			path, s.Points, s.Sources, len(skipped))
	case "fitted":
		fmt.Fprintf(w, "scoring %s: %d points from %d sources (%d skipped), factors fitted to %s (%d points)\n", path, s.Points, s.Sources, len(skipped), a.fit, trained)
	default:
		fmt.Fprintf(w, "scoring %s: %d points from %d sources (%d skipped), plan's factors (the published fit), no further fitting\n", path, s.Points, s.Sources, len(skipped))
	}
	for _, sk := range skipped {
		fmt.Fprintf(w, "  skipped %s (line %d): %s\n", sk.ID, sk.Line, sk.Reason)
	}
	sim.WriteSummaries(w, "framework", s.Metrics, func(m sim.Summary) string { return m.Framework })
	if s.Mode == "leave-one-source-out" {
		fmt.Fprintln(w, "per source (held out):")
		sim.WriteSummaries(w, "source", s.BySource, func(m sim.Summary) string { return m.Source })
		sim.WriteIntervals(w, s.Intervals)
	}
	if len(s.Fits) > 0 {
		fmt.Fprintf(w, "fits to %s:\n", a.fit)
		sim.WriteFits(w, s.Fits)
	}
	return nil
}

func readPoints(path string, set *campaign.Set) ([]sim.Point, []sim.Skipped, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	points, skipped, err := sim.ReadPoints(f, path, set)
	if err != nil {
		return nil, nil, err
	}
	if len(points) == 0 {
		return nil, nil, errors.New(path + ": no usable points")
	}
	return points, skipped, nil
}
