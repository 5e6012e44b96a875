package mail

import (
	"testing"

	"bartleby/internal/mail/deliver"
	"bartleby/internal/mail/queue"
	"bartleby/internal/part"
)

// TestSummaryLastHour: the card counts the recipients delivered and
// bounced by delivery attempts, where they are logged.
func TestSummaryLastHour(t *testing.T) {
	m := testMail(t)
	m.met = newMetrics(nil, m)
	e := &queue.Envelope{ID: "q1", Rcpts: []*queue.Rcpt{
		{Addr: "a@example.org", State: queue.Delivered},
		{Addr: "b@example.org", State: queue.Delivered},
		{Addr: "c@example.org", State: queue.Bounced, Error: "550 no such user"},
		{Addr: "d@example.org", Error: "cannot connect"},
	}}
	res := map[string]*deliver.Error{"a@example.org": nil, "b@example.org": nil,
		"c@example.org": {Code: 550}, "d@example.org": {Kind: "connect"}}
	m.logAttempt("smarthost", "relay.example.org", e, res)

	facts := factsByLabel(m.Summary()[0])
	if facts["Delivered, last hour"] != "2" || facts["Bounced, last hour"] != "1" {
		t.Fatalf("card facts: %v", facts)
	}
}

func factsByLabel(c part.Card) map[string]string {
	out := map[string]string{}
	for _, f := range c.Facts {
		out[f.Label] = f.Value
	}
	return out
}

// TestSummaryQuietHour: with nothing delivered the card says 0, not
// nothing, so that an idle relay is told apart from a missing number.
func TestSummaryQuietHour(t *testing.T) {
	m := testMail(t)
	m.met = newMetrics(nil, m)
	if facts := factsByLabel(m.Summary()[0]); facts["Delivered, last hour"] != "0" || facts["Bounced, last hour"] != "0" {
		t.Fatalf("card facts: %v", facts)
	}
}
