package watch

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"bartleby/internal/watch/clock"
	"bartleby/internal/watch/scenario"
)

// metrics follow blackbox_exporter's names; labels are slugs of the
// configured feature, scenario and step, never URLs, so they stay bounded.
type metrics struct {
	success, duration, lastRun *prometheus.GaugeVec
	step, phase                *prometheus.GaugeVec
	runs                       *prometheus.CounterVec
	clockOffset, clockStatus   prometheus.Gauge
	clockValid                 prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	sc := []string{"feature", "scenario"}
	m := &metrics{
		success: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "probe_success",
			Help: "Whether the scenario's last confirmed run passed (1) or failed (0)."}, sc),
		duration: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "probe_duration_seconds",
			Help: "How long the scenario's last run took."}, sc),
		lastRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bartleby_watch_last_run_timestamp_seconds",
			Help: "When the scenario last ran, in Unix seconds."}, sc),
		step: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "probe_step_duration_seconds",
			Help: "How long each step of the scenario's last run took."}, append(sc, "step")),
		phase: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "probe_http_duration_seconds",
			Help: "Duration of each HTTP phase of each step of the last run, summed over its requests."}, append(sc, "step", "phase")),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bartleby_watch_runs_total",
			Help: "Scenario runs by result: ok, fail (confirmed by the retry) or flap (failed, then passed the retry)."}, append(sc, "result")),
		clockOffset: prometheus.NewGauge(prometheus.GaugeOpts{Name: "bartleby_clock_offset_seconds",
			Help: "NTP time minus the local clock at the last check, as check_ntp_time (positive: the local clock is behind)."}),
		clockStatus: prometheus.NewGauge(prometheus.GaugeOpts{Name: "bartleby_clock_status",
			Help: "Last clock check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (no valid answer)."}),
		clockValid: prometheus.NewGauge(prometheus.GaugeOpts{Name: "bartleby_clock_valid_servers",
			Help: "NTP servers that gave a valid answer at the last check."}),
	}
	for _, c := range []prometheus.Collector{m.success, m.duration, m.lastRun, m.step, m.phase, m.runs, m.clockOffset, m.clockStatus, m.clockValid} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// stepLabel is "03_i_follow_contact": index first, so it is unique.
func stepLabel(i int, st *scenario.Step) string {
	return fmt.Sprintf("%02d_%s", i+1, scenario.Slug(st.Text, 48))
}

func (m *metrics) observe(sc *scenario.Scenario, r *scenario.Result, flap bool) {
	l := sc.Labels()
	m.success.WithLabelValues(l...).Set(b2f(r.OK))
	m.duration.WithLabelValues(l...).Set(r.Duration.Seconds())
	m.lastRun.WithLabelValues(l...).Set(float64(r.Started.Unix()))
	result := "ok"
	switch {
	case !r.OK:
		result = "fail"
	case flap:
		result = "flap"
	}
	m.runs.WithLabelValues(append(l, result)...).Inc()
	for i, st := range sc.Steps {
		sl := append(l[:2:2], stepLabel(i, st))
		m.step.WithLabelValues(sl...).Set(r.Steps[i].Duration.Seconds())
		if !st.MakesRequest() {
			continue
		}
		for j, d := range r.Steps[i].Phases.List() {
			m.phase.WithLabelValues(append(sl, scenario.PhaseNames[j])...).Set(d.Seconds())
		}
	}
}

func (m *metrics) observeClock(r clock.Result) {
	m.clockOffset.Set(r.Offset.Seconds())
	m.clockStatus.Set(float64(r.Status))
	m.clockValid.Set(float64(r.Valid))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
