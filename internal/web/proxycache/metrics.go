package proxycache

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the cache metrics of every site, registered once by the web
// part and shared by the caches of every config it loads.
type Metrics struct {
	results *prometheus.CounterVec
	bytes   *prometheus.GaugeVec
}

// NewMetrics registers the cache metrics.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bartleby_web_cache_requests_total",
			Help: "Requests to proxy caches, by site and result (hit, miss, stale, pass).",
		}, []string{"site", "result"}),
		bytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bartleby_web_cache_bytes", Help: "Bytes held by proxy caches, by site.",
		}, []string{"site"}),
	}
	for _, c := range []prometheus.Collector{m.results, m.bytes} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

type counters struct {
	hit, miss, stale, pass prometheus.Counter
	bytes                  prometheus.Gauge
}

// counters are a site's; with no Metrics they count into the void.
func (m *Metrics) counters(site string) counters {
	if m == nil {
		m, _ = NewMetrics(prometheus.NewRegistry())
	}
	return counters{hit: m.results.WithLabelValues(site, "hit"), miss: m.results.WithLabelValues(site, "miss"),
		stale: m.results.WithLabelValues(site, "stale"), pass: m.results.WithLabelValues(site, "pass"),
		bytes: m.bytes.WithLabelValues(site)}
}
