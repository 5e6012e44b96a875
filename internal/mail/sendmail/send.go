package sendmail

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"bartleby/internal/mail/aliases"
	"bartleby/internal/mail/maildrop"
	"bartleby/internal/mail/message"
)

// Exit statuses from sysexits.h, which cron and MTAs understand.
const (
	ExitOK       = 0
	ExitUsage    = 64
	ExitDataErr  = 65
	ExitNoUser   = 67
	ExitSoftware = 70
	ExitTempFail = 75
)

// Error carries the exit status a failure should give.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func fail(code int, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// Prepared is a message ready to hand over.
type Prepared struct {
	From  string
	Rcpts []string
	Data  []byte
}

// Prepare reads the message from in and applies the options: recipients
// from the header with -t (Bcc removed), a lone "." ends the input unless
// -i, lines over 998 octets re-encoded, bare addresses in the header
// qualified, missing Date, Message-ID and From added, and a Received field
// naming the submitting uid.
func Prepare(o *Options, s *Settings, in io.Reader, now time.Time) (*Prepared, error) {
	from := o.Sender
	if from == "" {
		u, err := user.Current()
		if err != nil {
			return nil, fail(ExitNoUser, "cannot tell who you are: %v; give -f", err)
		}
		from = u.Username
	}
	if from != "" && from != "<>" {
		from = aliases.Qualify(from, s.QualifyDomain)
		if err := aliases.CheckAddress(from); err != nil {
			return nil, fail(ExitUsage, "sender: %v", err)
		}
	}
	if from == "<>" {
		from = ""
	}
	raw, err := readInput(in, !o.IgnoreDots, s.MaxSize)
	if err != nil {
		return nil, err
	}
	raw = message.FixLongLines(raw) // cron cannot resend: never refuse for them
	br := bufio.NewReader(bytes.NewReader(raw))
	h, err := message.ReadHeader(br)
	if err != nil {
		return nil, fail(ExitDataErr, "message header: %v", err)
	}
	rcpts := append([]string{}, o.Rcpts...)
	if o.FromHeader {
		hr, err := h.Recipients()
		if err != nil {
			return nil, fail(ExitDataErr, "-t: %v", err)
		}
		rcpts = append(rcpts, hr...)
		h.Del("Bcc")
	}
	if len(rcpts) == 0 {
		return nil, fail(ExitUsage, "no recipients: give them as arguments, or use -t to take them from To, Cc and Bcc")
	}
	for i, r := range rcpts {
		rcpts[i] = aliases.Qualify(r, s.QualifyDomain) // SMTP wants a domain
		if err := aliases.CheckAddress(r); err != nil {
			return nil, fail(ExitDataErr, "recipient: %v", err)
		}
	}
	h.QualifyAddresses(s.QualifyDomain)
	h.Complete(from, o.FullName, s.Hostname, now)
	// As Postfix's pickup records it: who ran sendmail.
	h.Prepend("Received", fmt.Sprintf("by %s (bartleby, from userid %d);\r\n\t%s", s.Hostname, os.Getuid(), now.Format(time.RFC1123Z)))
	var out bytes.Buffer
	h.WriteTo(&out)
	io.Copy(&out, br)
	return &Prepared{From: from, Rcpts: rcpts, Data: out.Bytes()}, nil
}

// readInput reads stdin normalised to CRLF (lines of any length), up to
// the size limit and, when dotEnds, up to a line holding a single ".".
func readInput(in io.Reader, dotEnds bool, maxSize int64) ([]byte, error) {
	n := message.NormalizeLong(io.LimitReader(in, maxSize+1))
	var out bytes.Buffer
	br := bufio.NewReader(n)
	for {
		line, err := br.ReadBytes('\n')
		if dotEnds && string(line) == ".\r\n" {
			break
		}
		out.Write(line)
		if int64(out.Len()) > maxSize {
			return nil, fail(ExitDataErr, "message larger than max_size (%d bytes)", maxSize)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fail(ExitDataErr, "%v", err)
		}
	}
	return out.Bytes(), nil
}

// Submit hands p to the daemon's submission listener, or to the maildrop
// when nothing listens there. It returns where the message went.
func Submit(p *Prepared, s *Settings) (string, error) {
	if s.Submit != "" {
		where, err := submitSMTP(p, s)
		if !errors.Is(err, errNotRunning) {
			return where, err
		}
	}
	name, err := maildrop.Write(s.Maildrop, maildrop.Envelope{From: p.From, Rcpts: p.Rcpts}, bytes.NewReader(p.Data))
	if err != nil {
		return "", fail(ExitTempFail, "the daemon does not answer on %s and the maildrop %s is not writable: %v", s.Submit, s.Maildrop, err)
	}
	return "maildrop " + name + " (queued when bartleby starts)", nil
}

// errNotRunning is a daemon that does not take the message now: not
// listening, or refusing the session (421, all its submission slots
// taken). The maildrop takes the message then.
var errNotRunning = errors.New("daemon not running")

// busy reports whether err is the daemon closing a session before it
// began, as 421 does.
func busy(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code == 421
}

func submitSMTP(p *Prepared, s *Settings) (string, error) {
	conn, err := net.DialTimeout("tcp", s.Submit, 10*time.Second)
	if err != nil {
		return "", errNotRunning
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	c.CommandTimeout, c.SubmissionTimeout = time.Minute, 5*time.Minute
	if err := c.Hello("localhost"); err != nil {
		if busy(err) {
			return "", errNotRunning
		}
		return "", smtpFail(err)
	}
	if err := c.Mail(p.From, nil); err != nil {
		return "", smtpFail(err)
	}
	for _, r := range p.Rcpts {
		if err := c.Rcpt(r, nil); err != nil {
			return "", smtpFail(fmt.Errorf("<%s>: %w", r, err))
		}
	}
	w, err := c.Data()
	if err != nil {
		return "", smtpFail(err)
	}
	if _, err := w.Write(p.Data); err != nil {
		return "", smtpFail(err)
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", smtpFail(err)
	}
	c.Quit()
	return strings.TrimSpace(resp.StatusText), nil
}

// smtpFail maps a refusal: 5xx is the message's fault, anything else is
// temporary.
func smtpFail(err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code/100 == 5 {
		return &Error{Code: ExitDataErr, Err: err}
	}
	return &Error{Code: ExitTempFail, Err: err}
}
