package deliver

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Result is the outcome for one recipient.
type Result struct {
	Addr string
	Err  *Error // nil when accepted
}

// Message is what Send transmits.
type Message struct {
	From     string
	Rcpts    []string
	SMTPUTF8 bool
	Size     int64
	Data     io.Reader
}

// Send transmits one message and returns a result per recipient. A non-nil
// error means the connection is no longer usable; the results then hold
// that error for every recipient not yet settled.
func (c *Conn) Send(m *Message) ([]Result, error) {
	c.raw.limit(c.t.Timeout*4 + time.Duration(m.Size/(10<<10))*time.Second)
	defer func() { c.used = time.Now() }()
	res := make([]Result, len(m.Rcpts))
	for i, r := range m.Rcpts {
		res[i].Addr = r
	}
	if m.SMTPUTF8 && !c.utf8 {
		e := &Error{Kind: "smtputf8", Reason: c.t.Role + " " + c.t.Addr + " does not support SMTPUTF8, which this message needs"}
		return fill(res, e), c.reset()
	}
	opts := &smtp.MailOptions{UTF8: m.SMTPUTF8, Size: m.Size}
	if err := c.c.Mail(m.From, opts); err != nil {
		return c.failAll(res, "MAIL FROM", err)
	}
	accepted := 0
	for i, r := range m.Rcpts {
		if err := c.c.Rcpt(r, nil); err != nil {
			var se *smtp.SMTPError
			if !errors.As(err, &se) {
				return c.failAll(res, "RCPT TO", err)
			}
			res[i].Err = c.replyError("RCPT TO:<"+r+">", err).(*Error)
			continue
		}
		accepted++
	}
	if accepted == 0 {
		return res, c.reset()
	}
	if err := c.data(m.Data); err != nil {
		return c.failOpen(res, "DATA", err)
	}
	return res, nil
}

func (c *Conn) data(r io.Reader) error {
	w, err := c.c.Data()
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		return err
	}
	return w.Close()
}

// failAll sets err for every recipient; a protocol-level reply keeps the
// connection, anything else drops it.
func (c *Conn) failAll(res []Result, cmd string, err error) ([]Result, error) {
	e := c.replyError(cmd, err).(*Error)
	fill(res, e)
	if e.Code != 0 {
		return res, c.reset()
	}
	return res, e
}

// failOpen sets err for the recipients the server had accepted.
func (c *Conn) failOpen(res []Result, cmd string, err error) ([]Result, error) {
	e := c.replyError(cmd, err).(*Error)
	for i := range res {
		if res[i].Err == nil {
			res[i].Err = e
		}
	}
	if e.Code != 0 {
		return res, nil
	}
	return res, e
}

func fill(res []Result, e *Error) []Result {
	for i := range res {
		if res[i].Err == nil {
			res[i].Err = e
		}
	}
	return res
}

// reset ends a failed transaction so the connection can carry the next one.
func (c *Conn) reset() error {
	if err := c.c.Reset(); err != nil {
		return c.netError("RSET", err)
	}
	return nil
}

// deadlineConn puts a hard deadline on a whole operation: go-smtp sets and
// clears per-command deadlines, which would otherwise let a peer that trickles
// bytes hold a delivery forever.
type deadlineConn struct {
	net.Conn
	mu   sync.Mutex
	hard time.Time
}

// limit sets the hard deadline d from now.
func (d *deadlineConn) limit(dur time.Duration) {
	d.mu.Lock()
	d.hard = time.Now().Add(dur)
	d.mu.Unlock()
	d.Conn.SetDeadline(d.hard)
}

func (d *deadlineConn) clamp(t time.Time) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t.IsZero() || t.After(d.hard) {
		return d.hard
	}
	return t
}

func (d *deadlineConn) SetDeadline(t time.Time) error     { return d.Conn.SetDeadline(d.clamp(t)) }
func (d *deadlineConn) SetReadDeadline(t time.Time) error { return d.Conn.SetReadDeadline(d.clamp(t)) }
func (d *deadlineConn) SetWriteDeadline(t time.Time) error {
	return d.Conn.SetWriteDeadline(d.clamp(t))
}
