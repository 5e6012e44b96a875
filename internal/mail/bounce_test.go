package mail

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"bartleby/internal/config"
	"bartleby/internal/mail/aliases"
	"bartleby/internal/mail/queue"
)

// TestAwaitDSN: recipients whose DSN could not be queued stay deferred,
// so the message is not removed with no one told; earlier bounces and
// other recipients are left as they are.
func TestAwaitDSN(t *testing.T) {
	now := &queue.Rcpt{Addr: "now@x.test", State: queue.Bounced, Error: "550 no such user"}
	before := &queue.Rcpt{Addr: "before@x.test", State: queue.Bounced, Error: "550 gone"}
	done := &queue.Rcpt{Addr: "done@x.test", State: queue.Delivered}
	e := &queue.Envelope{Rcpts: []*queue.Rcpt{now, before, done}}
	awaitDSN(e, []*queue.Rcpt{{Addr: "now@x.test"}}, errors.New("no space left on device"))
	if now.State != queue.Deferred || !strings.Contains(now.Error, "550 no such user (the DSN could not be queued, retrying: no space left on device)") {
		t.Errorf("newly bounced: %+v", now)
	}
	if before.State != queue.Bounced || done.State != queue.Delivered {
		t.Errorf("others changed: %+v %+v", before, done)
	}
	if !e.Open() {
		t.Error("the message would be removed")
	}
}

// TestDSNLimiterForgets: senders with no DSN in the last hour are
// forgotten once many are remembered, so forged senders cannot grow the
// limiter without end; the limit itself still holds.
func TestDSNLimiterForgets(t *testing.T) {
	var l dsnLimiter
	start := time.Now()
	for i := range dsnSenders {
		l.allow(fmt.Sprintf("s%d@x.test", i), start)
	}
	for range dsnPerWindow {
		l.allow("busy@x.test", start.Add(2*time.Hour))
	}
	if l.allow("busy@x.test", start.Add(2*time.Hour)) {
		t.Error("an 11th DSN in an hour allowed")
	}
	if len(l.sent) != 1 {
		t.Errorf("%d senders remembered, want 1", len(l.sent))
	}
}

// TestDSNToNonASCIISender: a DSN to a sender only SMTPUTF8 can reach asks
// for it; one to an ASCII sender does not.
func TestDSNToNonASCIISender(t *testing.T) {
	m := testMail(t)
	q := m.q
	al, _ := aliases.Open("")
	m.met = newMetrics(prometheus.NewRegistry(), m)
	m.run = &runner{routes: map[string]*route{routeSmarthost: {}}}
	m.cur.Store(&conf{cfg: &config.Mail{}, hostname: "relay.test", aliases: al})
	for from, want := range map[string]bool{"jörg@bücher.example": true, "joerg@example.org": false} {
		e := &queue.Envelope{ID: "X" + strings.ToUpper(fmt.Sprint(want)), From: from, SMTPUTF8: true}
		if err := m.bounce(e, []*queue.Rcpt{{Addr: "gone@example.net", Error: "550 gone", Code: 550}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range q.List() {
		if want := e.Rcpts[0].Addr == "jörg@bücher.example"; !e.DSN || e.SMTPUTF8 != want {
			t.Errorf("DSN to %s: SMTPUTF8 %v", e.Rcpts[0].Addr, e.SMTPUTF8)
		}
	}
	if q.Len() != 2 {
		t.Fatalf("%d DSNs queued", q.Len())
	}
}
