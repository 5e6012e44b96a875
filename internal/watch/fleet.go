package watch

import (
	"context"

	"bartleby/internal/fleet"
)

// signalPublish asks publishLoop to put the outcomes in the fleet; a
// signal pending already covers this one.
func (w *Watch) signalPublish() {
	if w.fleet == nil {
		return
	}
	select {
	case w.publish <- struct{}{}:
	default:
	}
}

// publishLoop puts this node's scenario outcomes in the fleet, one
// publication at a time so that an older snapshot never overwrites a
// newer one. The fleet writes only when an outcome changed.
func (w *Watch) publishLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.publish:
		}
		if err := w.fleet.PublishWatch(ctx, w.fleetStates()); err != nil && ctx.Err() == nil {
			w.log.Warn("watch: publishing the outcomes to the fleet", "event", "watch.publish_failed", "err", err)
		}
	}
}

// fleetStates are the last confirmed outcomes of the scenarios that ran,
// in the order of the feature files.
func (w *Watch) fleetStates() []fleet.ScenarioState {
	last := w.lastResults()
	var out []fleet.ScenarioState
	for _, sc := range w.scenarios() {
		res := last[sc.ID()]
		if res == nil {
			continue
		}
		st := fleet.ScenarioState{Scenario: sc.Feature + " / " + sc.Name, OK: res.OK, Ran: res.Started, Took: res.Duration}
		if f := res.Failed(); f != nil {
			st.Step, st.Error = f.Text, f.Error
		}
		out = append(out, st)
	}
	return out
}
