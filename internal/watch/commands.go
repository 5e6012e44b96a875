package watch

import (
	"context"
	"encoding/json"

	"bartleby/internal/control"
	"bartleby/internal/watch/clock"
	"bartleby/internal/watch/scenario"
)

// Status is what `bartleby watch status` shows: each scenario's last
// confirmed run and the last clock check.
type Status struct {
	Clock     *clock.Result    `json:"clock,omitempty"`
	Scenarios []ScenarioStatus `json:"scenarios"`
}

// ScenarioStatus is one scenario and its last run (nil before the first).
type ScenarioStatus struct {
	Feature  string           `json:"feature"`
	Scenario string           `json:"scenario"`
	File     string           `json:"file"`
	Line     int              `json:"line"`
	Last     *scenario.Result `json:"last,omitempty"`
}

// Commands answers "watch.status" on the control socket.
func (w *Watch) Commands() map[string]control.Handler {
	return map[string]control.Handler{"watch.status": func(context.Context, json.RawMessage) (any, error) {
		st := Status{Clock: w.Clock()}
		for _, sc := range w.scenarios() {
			w.mu.Lock()
			last := w.last[sc.ID()]
			w.mu.Unlock()
			st.Scenarios = append(st.Scenarios, ScenarioStatus{Feature: sc.Feature, Scenario: sc.Name, File: sc.File, Line: sc.Line, Last: last})
		}
		return st, nil
	}}
}
