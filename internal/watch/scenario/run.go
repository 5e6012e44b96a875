package scenario

import (
	"context"
	"errors"
	"time"
)

// Step outcomes.
const (
	Passed  = "passed"
	Failed  = "failed"
	Slow    = "slow" // a timing step failed: a warning
	Skipped = "skipped"
)

// StepResult is one step of one run.
type StepResult struct {
	Keyword   string        `json:"keyword"`
	Text      string        `json:"text"`
	Kind      string        `json:"kind"`
	Request   bool          `json:"request"` // an HTTP step; the others are assertions on its answer
	Line      int           `json:"line"`
	Status    string        `json:"status"`
	Started   time.Time     `json:"started"`
	Duration  time.Duration `json:"duration_ns"`
	Phases    Phases        `json:"phases"`
	Requests  int           `json:"requests"`
	Redirects int           `json:"redirects"`
	Error     string        `json:"error,omitempty"`
	Excerpt   string        `json:"excerpt,omitempty"`
	// Warn is the threshold set by a following timing step.
	Warn time.Duration `json:"warn_ns,omitempty"`
}

func (r *StepResult) addPhases(p Phases) { r.Phases.add(p) }

// Result is one run of one scenario.
type Result struct {
	Feature  string        `json:"feature"`
	Scenario string        `json:"scenario"`
	File     string        `json:"file"`
	Line     int           `json:"line"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	OK       bool          `json:"ok"`   // every step passed (timing warnings aside)
	Slow     bool          `json:"slow"` // a timing step failed
	Steps    []StepResult  `json:"steps"`
	// Warn and Crit are the scenario's own per-step thresholds (tags).
	Warn time.Duration `json:"-"`
	Crit time.Duration `json:"-"`
}

// Failed returns the failing step, or nil.
func (r *Result) Failed() *StepResult {
	for i := range r.Steps {
		if r.Steps[i].Status == Failed {
			return &r.Steps[i]
		}
	}
	return nil
}

// Run runs a scenario's steps in order in a fresh session (cookies,
// connections); after a failure the remaining steps are skipped.
func Run(ctx context.Context, sc *Scenario, opt Options) *Result {
	if opt.Timeout <= 0 {
		opt.Timeout = 30 * time.Second
	}
	s := newSession(ctx, opt)
	defer s.close()
	res := &Result{Feature: sc.Feature, Scenario: sc.Name, File: sc.File, Line: sc.Line, Started: time.Now(), OK: true,
		Warn: sc.Warn, Crit: sc.Crit, Steps: make([]StepResult, len(sc.Steps))}
	for i, st := range sc.Steps {
		r := &res.Steps[i]
		*r = StepResult{Keyword: st.Keyword, Text: st.Text, Kind: st.def.kind, Request: st.def.request, Line: st.Line, Status: Skipped}
		if !res.OK {
			continue
		}
		s.runStep(st, r)
		switch r.Status {
		case Failed:
			res.OK = false
		case Slow:
			res.Slow = true
		}
		if st.def.request {
			s.last = r
		}
	}
	res.Duration = time.Since(res.Started)
	return res
}

func (s *session) runStep(st *Step, r *StepResult) {
	ctx, cancel := context.WithTimeout(s.ctx, s.opt.Timeout)
	defer cancel()
	parent := s.ctx
	s.ctx, s.cur, s.hops = ctx, r, 0
	r.Started = time.Now()
	err := st.def.run(s, st.args)
	r.Duration = time.Since(r.Started)
	s.ctx = parent
	var ee excerptError
	var se slowError
	switch {
	case err == nil:
		r.Status = Passed
	case errors.As(err, &se):
		r.Status, r.Error = Slow, err.Error()
	default:
		r.Status, r.Error = Failed, err.Error()
		if errors.As(err, &ee) {
			r.Excerpt = ee.excerpt
		} else if s.page != nil && st.def.kind == "status" {
			r.Excerpt = s.page.excerpt("")
		}
	}
}

// RunAll runs every scenario of feats in order.
func RunAll(ctx context.Context, feats []*Feature, opt Options) []*Result {
	var out []*Result
	for _, f := range feats {
		for _, sc := range f.Scenarios {
			out = append(out, Run(ctx, sc, opt))
		}
	}
	return out
}
