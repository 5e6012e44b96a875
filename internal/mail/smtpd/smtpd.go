// Package smtpd receives mail over SMTP: loopback submission (no AUTH, the
// relay's front door for local programs) and the backup MX (STARTTLS, only
// the configured domains). It checks the SMTP dialogue and the message and
// hands them to a Handler, which answers 250 only once the message is on
// disk.
package smtpd

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"bartleby/internal/mail/message"
	"bartleby/internal/mail/queue"
)

// Incoming is a message received, for the handler to queue.
type Incoming struct {
	From     string
	Rcpts    []string
	SMTPUTF8 bool
	Origin   string    // "smtp 127.0.0.1:4242 (helo name)"
	Data     io.Reader // normalised to CRLF, with our Received field first; long lines only with Config.LongLines
}

// Handler decides on recipients and queues messages.
type Handler interface {
	// Rcpt accepts or refuses one recipient; a refusal is an *smtp.SMTPError.
	Rcpt(addr string) error
	// Queue stores the message durably and returns its queue ID.
	Queue(m *Incoming) (string, error)
}

// Config is one listener's policy.
type Config struct {
	Name          string // "submit" or "backup_mx", for logs
	Hostname      string // greeting and Received
	MaxSize       int64
	MaxRecipients int
	TLS           *tls.Config // STARTTLS offered when set
	// LongLines accepts lines over 998 octets, for the handler to
	// re-encode (message.FixLongLines): local software such as cron often
	// cannot resend, so refusing would lose the message. Off, they get 554.
	LongLines bool
	// Spool is the queue's directory: MAIL is refused with 452 4.3.1
	// while its file system has less than 1.5 × MaxSize free.
	Spool string
	Log   *slog.Logger
}

// RFC 5321 4.5.3.2 timeouts: 5 minutes for a command, 10 for the data.
const (
	commandTimeout = 5 * time.Minute
	dataTimeout    = 10 * time.Minute
)

// New makes a server for cfg; serve it with Serve(listener).
func New(cfg Config, h Handler) *smtp.Server {
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{cfg: &cfg, h: h, conn: c}, nil
	}))
	s.Domain = cfg.Hostname
	s.MaxMessageBytes = cfg.MaxSize
	s.MaxRecipients = 0 // enforced in Rcpt with a 452, as RFC 5321 asks
	s.MaxLineLength = 2000
	if cfg.LongLines {
		// go-smtp bounds DATA lines too: let one be as long as a message.
		s.MaxLineLength = int(max(cfg.MaxSize, 2000))
	}
	s.ReadTimeout = commandTimeout
	s.WriteTimeout = commandTimeout
	s.TLSConfig = cfg.TLS
	s.EnableSMTPUTF8 = true
	s.ErrorLog = slogLogger{cfg.Log}
	return s
}

type session struct {
	cfg       *Config
	h         Handler
	conn      *smtp.Conn
	from      *string
	utf8      bool
	rcpts     []string
	refusal   int  // MAIL, RCPT and DATA refused since the last message
	overshoot int  // recipients past MaxRecipients in the session
	ended     bool // by refused: commands still buffered get 421
}

func (s *session) Reset() { s.from, s.rcpts, s.utf8 = nil, nil, false }

func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	if s.ended {
		return errEnded
	}
	if err := s.mail(from, opts); err != nil {
		return s.refused(err)
	}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.ended {
		return errEnded
	}
	if s.from != nil && len(s.rcpts) >= s.cfg.MaxRecipients {
		return s.overshot()
	}
	if err := s.rcpt(to); err != nil {
		return s.refused(err)
	}
	return nil
}

func (s *session) mail(from string, opts *smtp.MailOptions) error {
	if s.from != nil {
		// go-smtp lets a second MAIL through: its recipients, checked
		// under the first one's SMTPUTF8, would go with the second.
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "nested MAIL command"}
	}
	utf8 := opts != nil && opts.UTF8
	if from != "" {
		if !strings.Contains(from, "@") {
			return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 1, 7}, Message: "malformed sender address"}
		}
		if err := checkPath(from, "sender", utf8, smtp.EnhancedCode{5, 1, 7}); err != nil {
			return err
		}
	}
	if !roomFor(s.cfg.Spool, s.cfg.MaxSize) {
		s.cfg.Log.Warn("MAIL refused: the spool's file system is nearly full", "event", "mail.spool_full", "listener", s.cfg.Name, "dir", s.cfg.Spool)
		return errNoSpace
	}
	s.from = &from
	s.utf8 = utf8
	mailStarted(s.conn.Conn())
	return nil
}

func (s *session) rcpt(to string) error {
	if s.from == nil {
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "MAIL first"}
	}
	if err := checkPath(to, "recipient", s.utf8, smtp.EnhancedCode{5, 1, 3}); err != nil {
		return err
	}
	if err := s.h.Rcpt(to); err != nil {
		return err
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	switch {
	case s.ended:
		io.Copy(io.Discard, r)
		return errEnded
	case s.from == nil || len(s.rcpts) == 0:
		io.Copy(io.Discard, r)
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "RCPT first"}
	}
	origin := s.origin()
	normalize := message.Normalize
	if s.cfg.LongLines {
		normalize = message.NormalizeLong
	}
	m := &Incoming{From: *s.from, Rcpts: s.rcpts, SMTPUTF8: s.utf8, Origin: origin,
		Data: message.LimitHops(io.MultiReader(strings.NewReader(s.received()), normalize(r)))}
	id, err := s.h.Queue(m)
	io.Copy(io.Discard, r) // go-smtp needs the data consumed, even on error
	if err != nil {
		s.cfg.Log.Warn("message refused", "event", "mail.refused", "listener", s.cfg.Name, "origin", origin, "from", *s.from, "error", err)
		return s.refused(dataError(err))
	}
	s.refusal = 0 // as Postfix counts: errors without delivering mail
	s.cfg.Log.Info("message queued", "event", "mail.received", "id", id, "listener", s.cfg.Name, "origin", origin, "from", *s.from, "rcpts", len(s.rcpts))
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "queued as " + id}
}

// dataError turns a failure to queue into the right reply: the client
// keeps the message on any 4xx.
func dataError(err error) error {
	var se *smtp.SMTPError
	var te *queue.TempError
	switch {
	case errors.As(err, &se):
		return se
	case errors.Is(err, queue.ErrTooBig):
		return smtp.ErrDataTooLarge
	case errors.Is(err, message.ErrLongLine), errors.Is(err, smtp.ErrTooLongLine):
		// Past go-smtp's own line limit too: a 451 would have the sender
		// retry the same message until it gives up.
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "rejected: " + message.ErrLongLine.Error()}
	case errors.Is(err, message.ErrLoop):
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 4, 6}, Message: "rejected: " + message.ErrLoop.Error()}
	case errors.Is(err, message.ErrNUL):
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "rejected: the message contains a NUL byte"}
	case isNoSpace(err):
		return errNoSpace
	case errors.As(err, &te):
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "cannot write the queue, try again later"}
	}
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "message not queued, try again later"}
}

func (s *session) origin() string {
	return fmt.Sprintf("smtp %s (%s)", s.conn.Conn().RemoteAddr(), s.helo())
}

// maxHelo bounds the HELO name we repeat: a host name has at most 253.
const maxHelo = 255

// helo is the client's HELO argument as it may be repeated in a header,
// a log, `mail show` or the queue page: printable ASCII but parentheses
// (which would end the Received comment), at most maxHelo octets. go-smtp
// takes any octets but line ends, terminal escapes included.
func (s *session) helo() string {
	h := strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' || r == '(' || r == ')' {
			return -1
		}
		return r
	}, s.conn.Hostname())
	return h[:min(len(h), maxHelo)]
}

// received is our trace field (RFC 5321 4.4).
func (s *session) received() string {
	with := "ESMTP"
	if _, ok := s.conn.TLSConnectionState(); ok {
		with = "ESMTPS"
	}
	ip := s.conn.Conn().RemoteAddr().String()
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	return fmt.Sprintf("Received: from %s ([%s])\r\n\tby %s (bartleby) with %s;\r\n\t%s\r\n",
		s.helo(), ip, s.cfg.Hostname, with, time.Now().Format(time.RFC1123Z))
}

// slogLogger routes go-smtp's own messages to slog at debug level.
type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Printf(format string, v ...any) {
	l.log.Debug(fmt.Sprintf(format, v...), "event", "mail.smtp_debug")
}
func (l slogLogger) Println(v ...any) { l.log.Debug(fmt.Sprint(v...), "event", "mail.smtp_debug") }
