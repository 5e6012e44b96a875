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

// logAttempt logs an attempt's result per recipient with what Postfix
// logs (so a log summary can be rebuilt), counts it, and sums it up for
// flush.
func (m *Mail) logAttempt(route, relay string, e *queue.Envelope, res map[string]*deliver.Error) Outcome {
	var ok, temp, perm int
	var reasons []string
	for _, rc := range e.Rcpts {
		de, tried := res[rc.Addr]
		if !tried {
			continue
		}
		attrs := []any{"id", e.ID, "message_id", e.MessageID, "size", e.Size, "from", e.From, "to", rc.Addr, "orig_to", rc.Orig,
			"route", route, "relay", relay, "delay", time.Since(e.Received).Round(time.Millisecond).Seconds(), "attempt", e.Attempts,
			"dsn", dsnStatus(rc.State, de)}
		switch rc.State {
		case queue.Delivered:
			ok++
			m.met.delivered.WithLabelValues(route).Inc()
			m.met.deliveredHour.Add()
			m.log.Info("delivered", append([]any{"event", "mail.delivered"}, attrs...)...)
			continue
		case queue.Bounced:
			perm++
			m.met.bounced.WithLabelValues(route).Inc()
			m.met.bouncedHour.Add()
			m.log.Warn("bounced", append([]any{"event", "mail.bounced"}, append(attrs, "reason", rc.Error)...)...)
		default:
			temp++
			kind := "queue"
			if de != nil {
				kind = de.Kind
			}
			m.met.deferred.WithLabelValues(route, kind).Inc()
			m.log.Warn("deferred", append([]any{"event", "mail.deferred"},
				append(attrs, "reason", rc.Error, "next_attempt", e.NextAttempt.Format(time.RFC3339))...)...)
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

// dsnStatus is the RFC 3463 status Postfix would log for a recipient: the
// server's enhanced code when it gave one, else one for the kind of
// failure (4.4.1 no answer, 4.4.2 connection lost, 4.7.5 TLS, 4.7.0 AUTH).
func dsnStatus(state queue.State, de *deliver.Error) string {
	switch {
	case state == queue.Delivered:
		return "2.0.0"
	case de != nil && de.Status != "":
		return de.Status
	case state == queue.Bounced:
		if de != nil && de.Code/100 == 4 {
			return "4.4.7" // still failing when the queue gave up
		}
		return "5.0.0"
	case de == nil:
		return "4.3.0"
	}
	if s, ok := map[string]string{"connect": "4.4.1", "network": "4.4.2", "starttls": "4.7.5", "tls": "4.7.5", "auth": "4.7.0"}[de.Kind]; ok {
		return s
	}
	return "4.0.0"
}
