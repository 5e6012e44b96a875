package watch

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"bartleby/internal/watch/scenario"
)

// metrics follow blackbox_exporter's names; labels are slugs of the
// configured feature, scenario and step, never URLs, so they stay bounded.
type metrics struct {
	success, duration, lastRun *prometheus.GaugeVec
	step, phase                *prometheus.GaugeVec
	runs                       *prometheus.CounterVec
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
			Help: "How long each request step of the scenario's last run took (assertion steps have no series)."}, append(sc, "step")),
		phase: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "probe_http_duration_seconds",
			Help: "Duration of each HTTP phase of each step of the last run, summed over its requests."}, append(sc, "step", "phase")),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bartleby_watch_runs_total",
			Help: "Scenario runs by result: ok, fail (confirmed by the retry) or flap (failed, then passed the retry)."}, append(sc, "result")),
	}
	for _, c := range []prometheus.Collector{m.success, m.duration, m.lastRun, m.step, m.phase, m.runs} {
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
		if r.Steps[i].Status == scenario.Skipped || !st.MakesRequest() {
			// Not run, or an assertion on the last answer that takes
			// no time of its own: no value rather than a made-up 0 s.
			match := prometheus.Labels{"feature": sl[0], "scenario": sl[1], "step": sl[2]}
			m.step.DeletePartialMatch(match)
			m.phase.DeletePartialMatch(match)
			continue
		}
		m.step.WithLabelValues(sl...).Set(r.Steps[i].Duration.Seconds())
		for j, d := range r.Steps[i].Phases.List() {
			m.phase.WithLabelValues(append(sl, scenario.PhaseNames[j])...).Set(d.Seconds())
		}
	}
}

// clockMetrics export the last clock check at scrape time: nothing without
// [watch.clock] or before the first check, and no offset when no server
// gave a valid answer.
type clockMetrics struct{ w *Watch }

var (
	clockOffsetDesc = prometheus.NewDesc("bartleby_clock_offset_seconds",
		"NTP time minus the local clock at the last check, as check_ntp_time (positive: the local clock is behind).", nil, nil)
	clockStatusDesc = prometheus.NewDesc("bartleby_clock_status",
		"Last clock check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (no valid answer).", nil, nil)
	clockValidDesc = prometheus.NewDesc("bartleby_clock_valid_servers",
		"NTP servers that gave a valid answer at the last check.", nil, nil)
)

func (c clockMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- clockOffsetDesc
	ch <- clockStatusDesc
	ch <- clockValidDesc
}

func (c clockMetrics) Collect(ch chan<- prometheus.Metric) {
	r := c.w.Clock()
	if r == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(clockStatusDesc, prometheus.GaugeValue, float64(r.Status))
	ch <- prometheus.MustNewConstMetric(clockValidDesc, prometheus.GaugeValue, float64(r.Valid))
	if r.Stratum != 0 {
		ch <- prometheus.MustNewConstMetric(clockOffsetDesc, prometheus.GaugeValue, r.Offset.Seconds())
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
