package daemon

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
)

// metrics are the daemon's own: the Go runtime, the process, and whether
// each part is up and since when.
type metrics struct {
	reg     *prometheus.Registry
	upG     *prometheus.GaugeVec
	since   *prometheus.GaugeVec
	failing *prometheus.GaugeVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		upG: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bartleby_part_up", Help: "Whether the part is running (1) or not (0).",
		}, []string{"part"}),
		since: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bartleby_part_start_time_seconds", Help: "When the part last started, in Unix seconds.",
		}, []string{"part"}),
		failing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bartleby_part_failing", Help: "Whether a listener of the part (or the control socket) stopped for good (1) since it started.",
		}, []string{"part"}),
	}
	m.reg.MustRegister(m.upG, m.since, m.failing,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) up(part string, up bool) {
	if up {
		m.upG.WithLabelValues(part).Set(1)
		m.since.WithLabelValues(part).Set(float64(time.Now().Unix()))
		return
	}
	m.upG.WithLabelValues(part).Set(0)
}

func (m *metrics) markFailing(part string) { m.failing.WithLabelValues(part).Set(1) }

// gatherer gathers the daemon's metrics and those of the parts running at
// the time of the scrape; each part has its own registry so a restarted
// part registers its metrics afresh.
func (d *Daemon) gatherer() prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		_, parts := d.snapshot()
		gs := prometheus.Gatherers{d.metrics.reg}
		for _, r := range parts {
			gs = append(gs, r.reg)
		}
		return gs.Gather()
	})
}
