package web

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"bartleby/internal/web/proxycache"
)

// metrics are the web part's collectors, registered once and shared by
// the tables of every config it loads: requests counted and timed by site
// and status class, and the proxy caches'.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	cache    *proxycache.Metrics
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bartleby_web_requests_total", Help: "Requests answered, by site and status class.",
		}, []string{"site", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "bartleby_web_request_duration_seconds", Help: "Time to answer a request, until the last byte, by site and status class.",
			Buckets: prometheus.DefBuckets,
		}, []string{"site", "code"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	cm, err := proxycache.NewMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("cache metrics: %w", err)
	}
	m.cache = cm
	return m, nil
}

// siteMetrics are one site's series, looked up once per build.
type siteMetrics struct {
	counts    [6]prometheus.Counter // by status class, 1xx to 5xx
	durations [6]prometheus.Observer
}

func (m *metrics) forSite(name string) siteMetrics {
	var sm siteMetrics
	for c := 1; c <= 5; c++ {
		class := fmt.Sprintf("%dxx", c)
		sm.counts[c] = m.requests.WithLabelValues(name, class)
		sm.durations[c] = m.duration.WithLabelValues(name, class)
	}
	return sm
}
