package mail

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"bartleby/internal/lasthour"
)

type metrics struct {
	accepted   *prometheus.CounterVec // by listener
	delivered  *prometheus.CounterVec // by route
	deferred   *prometheus.CounterVec // by route and reason kind
	bounced    *prometheus.CounterVec // by route
	dsn        *prometheus.CounterVec // sent, suppressed
	pickupErrs prometheus.Counter
	// deliveredHour and bouncedHour count recipients for the admin card.
	deliveredHour, bouncedHour lasthour.Counter
}

func newMetrics(reg prometheus.Registerer, m *Mail) *metrics {
	met := &metrics{
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bartleby_mail_accepted_total",
			Help: "Messages queued, by way in (submit, maildrop, backup_mx)."}, []string{"via"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bartleby_mail_delivered_total",
			Help: "Recipients delivered, by route."}, []string{"route"}),
		deferred: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bartleby_mail_deferred_total",
			Help: "Recipients deferred, by route and reason (connect, starttls, tls, auth, network, reply, queue)."}, []string{"route", "reason"}),
		bounced: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bartleby_mail_bounced_total",
			Help: "Recipients bounced, by route."}, []string{"route"}),
		dsn: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bartleby_mail_dsn_total",
			Help: "Delivery status notifications, sent or suppressed (rate limit, null sender)."}, []string{"result"}),
		pickupErrs: prometheus.NewCounter(prometheus.CounterOpts{Name: "bartleby_mail_maildrop_errors_total",
			Help: "Maildrop files that could not be queued."}),
	}
	size := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "bartleby_mail_queue_messages",
		Help: "Messages in the queue."}, func() float64 {
		if m.q == nil {
			return 0
		}
		return float64(m.q.Len())
	})
	oldest := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "bartleby_mail_queue_oldest_seconds",
		Help: "Age of the oldest message in the queue."}, func() float64 {
		if m.q == nil {
			return 0
		}
		list := m.q.List()
		if len(list) == 0 {
			return 0
		}
		return time.Since(list[0].Received).Seconds()
	})
	if reg != nil {
		for _, c := range []prometheus.Collector{met.accepted, met.delivered, met.deferred, met.bounced, met.dsn, met.pickupErrs, size, oldest} {
			reg.Register(c)
		}
	}
	return met
}
