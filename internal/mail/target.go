package mail

import (
	"fmt"
	"strings"
	"time"

	"bartleby/internal/certs/capool"
	"bartleby/internal/config"
	"bartleby/internal/mail/deliver"
	"bartleby/internal/mail/queue"
)

// smarthostTarget turns [mail.smarthost] into a delivery target.
func smarthostTarget(sh *config.Smarthost, password, hostname string) (*deliver.Target, error) {
	t := &deliver.Target{Role: "smarthost", Addr: sh.Host, TLS: deliver.StartTLS, ServerName: sh.TLSServerName,
		Username: sh.Username, Password: password, HelloName: hostname,
		Timeout: sh.Timeout.Duration}
	if sh.TLS == "implicit" {
		t.TLS = deliver.Implicit
	}
	if sh.CA != "" {
		pool, err := capool.Load(sh.CA)
		if err != nil {
			return nil, fmt.Errorf("mail.smarthost.ca: %w", err)
		}
		t.Roots, t.RootsName = pool, sh.CA
	}
	return t, nil
}

// logAttempt logs an attempt's result per recipient, counts it, and sums
// it up for flush.
func (m *Mail) logAttempt(route string, e *queue.Envelope, res map[string]*deliver.Error) Outcome {
	var ok, temp, perm int
	var reasons []string
	for _, rc := range e.Rcpts {
		de, tried := res[rc.Addr]
		if !tried {
			continue
		}
		attrs := []any{"id", e.ID, "route", route, "from", e.From, "to", rc.Addr, "attempt", e.Attempts}
		switch rc.State {
		case queue.Delivered:
			ok++
			m.met.delivered.WithLabelValues(route).Inc()
			m.log.Info("delivered", attrs...)
			continue
		case queue.Bounced:
			perm++
			m.met.bounced.WithLabelValues(route).Inc()
			m.log.Warn("bounced", append(attrs, "reason", rc.Error)...)
		default:
			temp++
			kind := "queue"
			if de != nil {
				kind = de.Kind
			}
			m.met.deferred.WithLabelValues(route, kind).Inc()
			m.log.Warn("deferred", append(attrs, "reason", rc.Error, "next_attempt", e.NextAttempt.Format(time.RFC3339))...)
		}
		if len(reasons) == 0 || reasons[len(reasons)-1] != rc.Error {
			reasons = append(reasons, rc.Error)
		}
	}
	o := Outcome{ID: e.ID, Detail: strings.Join(reasons, "; ")}
	switch {
	case temp == 0 && perm == 0:
		o.Result, o.Detail = "delivered", fmt.Sprintf("delivered to %d recipient(s)", ok)
	case ok == 0 && perm == 0:
		o.Result = "deferred"
	case ok == 0 && temp == 0:
		o.Result = "bounced"
	default:
		o.Result = "partial"
		o.Detail = fmt.Sprintf("%d delivered, %d deferred, %d bounced: %s", ok, temp, perm, o.Detail)
	}
	return o
}
