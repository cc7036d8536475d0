package pipeline

import (
	"errors"
	"fmt"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/runner"
)

// EngineFlags are run's engine flags: they override the campaign's engine.
type EngineFlags struct {
	URL, Model, Plugin string
	Pid                int
}

// checkEngine says what is wrong with an engine that the host cannot serve:
// a plugin it lacks, or an attaching plugin without a URL.
func checkEngine(e *runner.Engine, find func(string) error) error {
	if e == nil {
		return nil
	}
	if err := find(e.Plugin); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	if !e.Predicted() && e.URL == "" {
		return fmt.Errorf("engine plugin %s attaches to a running server: give --engine-url and --engine-model (only sim, which emulates each config's server, needs neither)", e.Plugin)
	}
	return nil
}

// Engine decides what serves a local run's configs: the campaign's engine,
// overridden by the flags, or none (each config's own framework launched on
// its hardware). A URL attaches to a running OpenAI-compatible server through
// the openai plugin unless another is named; the sim engine emulates each
// config's server and takes no URL.
func Engine(c campaign.Campaign, f EngineFlags) (*runner.Engine, error) {
	var e *runner.Engine
	if c.Engine != nil {
		e = &runner.Engine{Plugin: c.Engine.Plugin, URL: c.Engine.URL, Model: c.Engine.Model}
	}
	if f.URL != "" {
		// A URL attaches to a running server; the sim engine runs its own.
		if e == nil || e.Plugin == runner.SimEngine {
			e = &runner.Engine{Plugin: "openai"}
		}
		e.URL = f.URL
	}
	if e != nil && f.Model != "" {
		e.Model = f.Model
	}
	if e == nil && f.Plugin != "" {
		e = &runner.Engine{}
	}
	if e != nil && f.Plugin != "" {
		e.Plugin = f.Plugin
	}
	if e.Predicted() {
		if f.URL != "" {
			return nil, errors.New("--engine-plugin sim emulates each config's server: it takes no --engine-url")
		}
		e.URL, e.Model = "", ""
	}
	if e != nil {
		e.Pid = f.Pid
	}
	if e != nil && e.URL != "" && e.Model == "" {
		return nil, errors.New("--engine-url needs --engine-model, the name the engine serves its model under")
	}

	return e, nil
}
