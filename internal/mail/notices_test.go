package mail

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"bartleby/internal/config"
	"bartleby/internal/mail/maildrop"
	"bartleby/internal/mail/queue"
)

// testMail is a mail part on an empty queue in a temporary directory,
// with a temporary maildrop and its log discarded: enough for the code
// that reads the queue (cards, notices, bounces).
func testMail(t *testing.T) *Mail {
	t.Helper()
	q, _, err := queue.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	m := &Mail{q: q, log: slog.New(slog.DiscardHandler)}
	m.cur.Store(&conf{cfg: &config.Mail{Maildrop: t.TempDir()}})
	return m
}

func TestNotices(t *testing.T) {
	m := testMail(t)
	q := m.q
	if n := m.Notices(); len(n) != 0 {
		t.Fatalf("empty queue: %v", n)
	}
	e, err := q.Add(queue.Envelope{Received: time.Now().Add(-2 * time.Hour), Rcpts: []*queue.Rcpt{{Addr: "a@b.c"}}}, strings.NewReader("x\r\n"), 100)
	if err != nil {
		t.Fatal(err)
	}
	q.Update(e.ID, func(e *queue.Envelope) { e.LastError = "cannot connect to smarthost" })
	n := m.Notices()
	if len(n) != 1 || !strings.Contains(n[0].Text, "1 message(s) waiting in the mail queue for more than 1h0m0s; oldest: cannot connect to smarthost") {
		t.Fatalf("notices: %v", n)
	}
	name, _ := maildrop.Write(m.conf().cfg.Maildrop, maildrop.Envelope{}, strings.NewReader("x\r\n"))
	maildrop.SetAside(m.conf().cfg.Maildrop, name, "no recipients")
	if n := m.Notices(); len(n) != 2 || n[1].Text != "1 message(s) from the maildrop set aside, not queued (see the mail queue page); first: no recipients" {
		t.Fatalf("notices: %v", n)
	}
}
