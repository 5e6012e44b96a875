package mail

import (
	"bytes"
	"strings"
	"sync"
	"time"

	"bartleby/internal/mail/dsn"
	"bartleby/internal/mail/queue"
)

// DSNs to one sender are rate-limited so a burst of failures (or a forged
// sender) cannot turn into a bounce storm.
const (
	dsnPerWindow = 10
	dsnWindow    = time.Hour
)

type dsnLimiter struct {
	mu   sync.Mutex
	sent map[string][]time.Time
}

// dsnSenders bounds how many senders the limiter remembers: forged
// senders are as many as an attacker likes, so past it the senders with
// no DSN in the window are forgotten.
const dsnSenders = 10000

func (l *dsnLimiter) allow(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sent == nil {
		l.sent = map[string][]time.Time{}
	}
	if len(l.sent) >= dsnSenders {
		l.forget(now)
	}
	recent := l.sent[addr][:0]
	for _, t := range l.sent[addr] {
		if now.Sub(t) < dsnWindow {
			recent = append(recent, t)
		}
	}
	if len(recent) >= dsnPerWindow {
		l.sent[addr] = recent
		return false
	}
	l.sent[addr] = append(recent, now)
	return true
}

// forget drops the senders with no DSN in the window.
func (l *dsnLimiter) forget(now time.Time) {
	for addr, times := range l.sent {
		if len(times) == 0 || now.Sub(times[len(times)-1]) >= dsnWindow {
			delete(l.sent, addr)
		}
	}
}

// bounce queues a DSN to the sender of e for the recipients that failed.
// A bounce is never bounced, nor sent to the null sender. The error is a
// DSN that should be sent but could not be queued (a full disk): the
// caller keeps the failed recipients so that it is tried again.
func (m *Mail) bounce(e *queue.Envelope, failed []*queue.Rcpt) error {
	log := m.log.With("id", e.ID, "from", e.From)
	switch {
	case e.From == "" || e.DSN:
		m.met.dsn.WithLabelValues("suppressed_null_sender").Inc()
		log.Warn("undeliverable bounce dropped (never bounce a bounce)", "event", "mail.dsn_skipped", "to", failed[0].Addr, "reason", failed[0].Error)
		return nil
	case m.run.routes[routeSmarthost] == nil:
		m.met.dsn.WithLabelValues("no_route").Inc()
		log.Warn("no DSN sent: there is no [mail.smarthost] to send it through", "event", "mail.dsn_skipped")
		return nil
	case !m.dsnLimit.allow(strings.ToLower(e.From), time.Now()):
		m.met.dsn.WithLabelValues("suppressed_rate").Inc()
		log.Warn("no DSN sent: more than 10 DSNs to this sender in the last hour", "event", "mail.dsn_skipped")
		return nil
	}
	now := time.Now()
	k := m.conf()
	rep := &dsn.Report{Hostname: k.hostname, To: e.From, MessageID: e.ID, Arrival: e.Received}
	for _, rc := range failed {
		rep.Failed = append(rep.Failed, dsn.Failed{Addr: rc.Addr, Orig: rc.Orig, Reason: rc.Error, Code: rc.Code})
	}
	if data, err := m.q.Data(e.ID); err == nil {
		rep.Original = data
		defer data.Close()
	}
	rcpts, err := k.expand(e.From, m.log)
	if err != nil {
		log.Error("no DSN sent: the sender's address does not expand", "event", "mail.dsn_skipped", "error", err)
		return nil
	}
	// A non-ASCII sender can only be reached with SMTPUTF8 (RFC 6531).
	utf8 := strings.IndexFunc(e.From, func(r rune) bool { return r >= 0x80 }) >= 0
	env := queue.Envelope{Rcpts: rcpts, Route: routeSmarthost, Origin: "dsn for " + e.ID, DSN: true, SMTPUTF8: utf8}
	d, err := m.q.Add(env, bytes.NewReader(dsn.Build(rep, now)), 1<<30)
	if err != nil {
		log.Error("cannot queue the DSN: the failed recipients stay deferred until it can be", "event", "mail.dsn_failed", "error", err)
		return err
	}
	m.met.dsn.WithLabelValues("sent").Inc()
	m.logQueued(&d, "dsn")
	log.Info("DSN queued", "event", "mail.dsn_queued", "dsn_id", d.ID, "to", e.From, "failed", len(failed))
	return nil
}

// awaitDSN turns the recipients of e that bounced in this attempt back
// into deferred ones, as their DSN could not be queued: the next attempt
// meets their failure again and queues the DSN then.
func awaitDSN(e *queue.Envelope, bounced []*queue.Rcpt, err error) {
	now := map[string]bool{}
	for _, rc := range bounced {
		now[rc.Addr] = true
	}
	for _, rc := range e.Rcpts {
		if rc.State == queue.Bounced && now[rc.Addr] {
			rc.State = queue.Deferred
			rc.Error += " (the DSN could not be queued, retrying: " + err.Error() + ")"
		}
	}
}
