package watch

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"bartleby/internal/part"
	"bartleby/internal/watch/scenario"
)

// Reload takes a new [watch] section and re-reads the feature files. A file
// that does not load refuses the reload and the running scenarios go on;
// otherwise the schedules restart with the new scenarios, keeping the
// history and metrics of those that remain.
func (w *Watch) Reload(env *part.Env) error {
	wc := env.Config.Watch
	if wc == nil {
		return fmt.Errorf("[watch] removed: restart bartleby to turn watch off")
	}
	if !reflect.DeepEqual(wc.NTPServer, w.cfg.NTPServer) {
		return fmt.Errorf("[watch.ntp_server] changed: restart bartleby to rebind it")
	}
	var feats []*scenario.Feature
	if wc.Features != "" {
		var err error
		if feats, err = scenario.Load(wc.Features); err != nil {
			return fmt.Errorf("watch.features: %w", err)
		}
	}
	var base *url.URL
	if wc.Base != "" {
		var err error
		if base, err = url.Parse(wc.Base); err != nil {
			return fmt.Errorf("watch.base: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w.stopLoops(ctx)
	old := w.scenarios()
	w.mu.Lock()
	w.cfg, w.feats, w.log = wc, feats, env.Log
	if wc.Clock == nil {
		w.clockR = nil // no stale check on the home page or in /metrics
	}
	w.opt.Base, w.opt.Timeout = base, wc.Timeout.Duration
	w.caLoaded = time.Time{}
	w.spread = wc.Every.Duration
	w.mu.Unlock()
	w.hist.setMax(wc.History)
	w.forget(old)
	w.startLoops()
	return nil
}

// forget drops the metrics, history and last result of the scenarios of
// old that are gone.
func (w *Watch) forget(old []*scenario.Scenario) {
	keep := map[string]bool{}
	for _, sc := range w.scenarios() {
		keep[sc.ID()] = true
	}
	w.hist.prune(keep)
	for _, sc := range old {
		if keep[sc.ID()] {
			continue
		}
		l := sc.Labels()
		match := prometheus.Labels{"feature": l[0], "scenario": l[1]}
		for _, v := range []*prometheus.GaugeVec{w.metrics.success, w.metrics.duration, w.metrics.lastRun, w.metrics.step, w.metrics.phase} {
			v.DeletePartialMatch(match)
		}
		w.metrics.runs.DeletePartialMatch(match)
		w.mu.Lock()
		delete(w.last, sc.ID())
		w.mu.Unlock()
	}
}
