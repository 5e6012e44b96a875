package daemon

import (
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

	"bartleby/internal/version"
)

// metrics are the daemon's own: the build, the Go runtime, the process,
// whether each part is up and since when, and certificate expiry.
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
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "bartleby_build_info", Help: "Always 1; the labels say which bartleby runs.",
	}, []string{"version", "goversion"})
	build.WithLabelValues(version.String(), runtime.Version()).Set(1)
	m.reg.MustRegister(m.upG, m.since, m.failing, build,
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

// certExpiry reports, at each scrape, when the certificate served for each
// configured name expires, from the certificate manager of the running
// config.
type certExpiry struct{ d *Daemon }

var certExpiryDesc = prometheus.NewDesc("bartleby_cert_expiry_timestamp_seconds",
	"When the certificate served for the name expires, in Unix seconds.", []string{"name"}, nil)

func (c certExpiry) Describe(ch chan<- *prometheus.Desc) { ch <- certExpiryDesc }

func (c certExpiry) Collect(ch chan<- prometheus.Metric) {
	c.d.state.RLock()
	cm := c.d.certs
	c.d.state.RUnlock()
	if cm == nil {
		return
	}
	for name, t := range cm.Expiry() {
		ch <- prometheus.MustNewConstMetric(certExpiryDesc, prometheus.GaugeValue, float64(t.Unix()), name)
	}
}
