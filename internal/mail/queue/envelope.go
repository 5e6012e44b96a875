package queue

import (
	"encoding/json"
	"strconv"
	"time"
)

// State is where one recipient of a message stands.
type State string

// Recipient states. Pending and Deferred recipients are still to deliver.
const (
	Pending   State = "pending"
	Deferred  State = "deferred"
	Delivered State = "delivered"
	Bounced   State = "bounced"
)

// Rcpt is one recipient and its own delivery state.
type Rcpt struct {
	Addr  string `json:"addr"`
	Orig  string `json:"orig,omitempty"` // as submitted, before alias expansion
	State State  `json:"state"`
	Error string `json:"error,omitempty"` // last answer or reason
	Code  int    `json:"code,omitempty"`  // last SMTP reply code, 0 when none
}

// Open reports whether the recipient still waits for delivery.
func (r *Rcpt) Open() bool { return r.State == Pending || r.State == Deferred }

// Envelope is everything the queue knows about a message but its content.
type Envelope struct {
	ID          string    `json:"id"`
	From        string    `json:"from"` // "" is the null sender of bounces
	Rcpts       []*Rcpt   `json:"rcpts"`
	Route       string    `json:"route"`  // "smarthost" or "primary"
	Origin      string    `json:"origin"` // who handed it in, for the log and `mail show`
	Received    time.Time `json:"received"`
	Size        int64     `json:"size"`
	SMTPUTF8    bool      `json:"smtputf8,omitempty"`
	DSN         bool      `json:"dsn,omitempty"` // a bounce: never bounced itself
	Attempts    int       `json:"attempts"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	Held        bool      `json:"held,omitempty"`
	// MessageID is the header's Message-ID, for the log: read as the
	// message is written (after the envelope), and again on loading.
	MessageID string `json:"message_id,omitempty"`
}

// Clone returns a deep copy.
func (e *Envelope) Clone() Envelope {
	c := *e
	c.Rcpts = make([]*Rcpt, len(e.Rcpts))
	for i, r := range e.Rcpts {
		rc := *r
		c.Rcpts[i] = &rc
	}
	return c
}

// Open reports whether some recipient still waits for delivery.
func (e *Envelope) Open() bool {
	for _, r := range e.Rcpts {
		if r.Open() {
			return true
		}
	}
	return false
}

// State sums up the recipients: the least final state among them.
func (e *Envelope) State() State {
	s := Delivered
	for _, r := range e.Rcpts {
		switch {
		case r.State == Deferred:
			return Deferred
		case r.State == Pending:
			s = Pending
		case r.State == Bounced && s == Delivered:
			s = Bounced
		}
	}
	return s
}

func (e *Envelope) marshal() ([]byte, error) { return json.Marshal(e) }

// durable sums up the state worth a write to disk: which recipients are
// done (so they are not delivered or bounced twice), the hold, and the
// attempt count, which moves with the retry schedule: a restart (and every
// reload restarts the mail part) must not send all deferred mail at once.
func (e *Envelope) durable() string {
	b := []byte{'h'}
	if !e.Held {
		b[0] = '-'
	}
	for _, r := range e.Rcpts {
		switch r.State {
		case Delivered:
			b = append(b, 'd')
		case Bounced:
			b = append(b, 'b')
		default:
			b = append(b, 'o')
		}
	}
	return string(strconv.AppendInt(append(b, '/'), int64(e.Attempts), 10))
}
