// Package deliver sends queued mail to the next hop: the smarthost, over
// verified TLS with AUTH, or a primary MX.
//
// Every failure is a *Error that says whether it is temporary and why, in
// words an operator can act on ("smarthost smtp.example.net:587 does not
// offer STARTTLS"); the queue shows and logs that reason.
package deliver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLSMode is how a connection is secured.
type TLSMode int

// TLS modes. Smarthosts get StartTLS or Implicit, never anything weaker.
const (
	StartTLS      TLSMode = iota // STARTTLS required, verified
	Implicit                     // TLS from the first byte (port 465), verified
	Opportunistic                // STARTTLS when offered, unverified; plain otherwise (MX to MX)
)

// Target is a next hop and how to talk to it.
type Target struct {
	Role       string // "smarthost" or "primary", for messages
	Addr       string // host:port
	TLS        TLSMode
	Roots      *x509.CertPool // nil: the system roots
	RootsName  string         // the ca path, for messages; "" for system roots
	ServerName string         // name the certificate must carry; default the host
	Username   string
	Password   string
	HelloName  string        // our EHLO name
	Timeout    time.Duration // per SMTP phase
}

func (t *Target) host() string {
	h, _, err := net.SplitHostPort(t.Addr)
	if err != nil {
		return t.Addr
	}
	return h
}

func (t *Target) serverName() string {
	if t.ServerName != "" {
		return t.ServerName
	}
	return t.host()
}

// Error is a failed delivery step.
type Error struct {
	Kind      string // for metrics: connect, starttls, tls, auth, network, reply
	Temporary bool
	Code      int    // the SMTP reply code when the peer gave one
	Status    string // its enhanced status code (RFC 3463), "5.1.1", when it gave one
	Reason    string
}

func (e *Error) Error() string { return e.Reason }

func tempf(kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Temporary: true, Reason: fmt.Sprintf(format, args...)}
}

// Conn is an open, authenticated session with a next hop, reused for many
// messages: one connection, one AUTH.
type Conn struct {
	t    *Target
	raw  *deadlineConn
	c    *smtp.Client
	utf8 bool
	used time.Time
}

// Dial connects, secures the connection as t requires and authenticates.
func Dial(ctx context.Context, t *Target) (*Conn, error) {
	conn, err := dial(ctx, t, t.TLS)
	if errors.Is(err, errNoStartTLS) && t.TLS == Opportunistic {
		conn, err = dial(ctx, t, -1)
	}
	if errors.Is(err, errNoStartTLS) {
		return nil, tempf("starttls", "%s %s does not offer STARTTLS; refusing to send mail or password in clear", t.Role, t.Addr)
	}
	return conn, err
}

// errNoStartTLS is the peer not offering STARTTLS.
var errNoStartTLS = errors.New("no STARTTLS")

// dial opens one connection in mode (-1: plain, for opportunistic peers
// without STARTTLS).
func dial(ctx context.Context, t *Target, mode TLSMode) (*Conn, error) {
	d := net.Dialer{Timeout: t.Timeout}
	nc, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return nil, tempf("connect", "cannot connect to %s %s: %v", t.Role, t.Addr, netReason(err))
	}
	raw := &deadlineConn{Conn: nc}
	raw.limit(3 * t.Timeout)
	conn := &Conn{t: t, raw: raw}
	if err := conn.open(mode); err != nil {
		nc.Close()
		return nil, err
	}
	conn.used = time.Now()
	return conn, nil
}

func (c *Conn) open(mode TLSMode) error {
	t := c.t
	tlsCfg := &tls.Config{ServerName: t.serverName(), RootCAs: t.Roots, MinVersion: tls.VersionTLS12}
	if mode == Opportunistic {
		tlsCfg.InsecureSkipVerify = true // MX-to-MX STARTTLS is unauthenticated by nature
	}
	switch mode {
	case Implicit:
		tc := tls.Client(c.raw, tlsCfg)
		if err := tc.HandshakeContext(context.Background()); err != nil {
			return c.tlsError(err)
		}
		c.c = smtp.NewClient(tc)
	case StartTLS, Opportunistic:
		cl, err := smtp.NewClientStartTLS(c.raw, tlsCfg)
		if err != nil {
			if strings.Contains(err.Error(), "doesn't support STARTTLS") {
				return errNoStartTLS
			}
			return c.replyError("STARTTLS", err)
		}
		c.c = cl
	default:
		c.c = smtp.NewClient(c.raw)
	}
	c.c.CommandTimeout, c.c.SubmissionTimeout = t.Timeout, t.Timeout
	if err := c.c.Hello(t.HelloName); err != nil {
		if isTLSError(err) {
			return c.tlsError(err)
		}
		return c.replyError("EHLO", err)
	}
	c.utf8, _ = c.c.Extension("SMTPUTF8")
	if t.Username != "" {
		return c.auth()
	}
	return nil
}

// isTLSError tells a handshake failure (surfacing at the first command
// after STARTTLS) from an SMTP or network one.
func isTLSError(err error) bool {
	var ve *tls.CertificateVerificationError
	var ae tls.AlertError
	var rh tls.RecordHeaderError
	var he x509.HostnameError
	var ua x509.UnknownAuthorityError
	return errors.As(err, &ve) || errors.As(err, &ae) || errors.As(err, &rh) || errors.As(err, &he) || errors.As(err, &ua)
}

// auth logs in with PLAIN or LOGIN, only ever over TLS.
func (c *Conn) auth() error {
	if _, ok := c.c.TLSConnectionState(); !ok {
		return tempf("auth", "%s %s: not logging in without TLS", c.t.Role, c.t.Addr)
	}
	var mech sasl.Client
	name := ""
	switch {
	case c.c.SupportsAuth("PLAIN"):
		mech, name = sasl.NewPlainClient("", c.t.Username, c.t.Password), "PLAIN"
	case c.c.SupportsAuth("LOGIN"):
		mech, name = sasl.NewLoginClient(c.t.Username, c.t.Password), "LOGIN"
	default:
		_, offered := c.c.Extension("AUTH")
		if offered == "" {
			return tempf("auth", "%s %s does not offer AUTH after STARTTLS, but a username is configured", c.t.Role, c.t.Addr)
		}
		return tempf("auth", "%s %s offers AUTH %s, not PLAIN or LOGIN", c.t.Role, c.t.Addr, offered)
	}
	if err := c.c.Auth(mech); err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return tempf("auth", "AUTH %s as %q rejected by %s %s: %d %s", name, c.t.Username, c.t.Role, c.t.Addr, se.Code, se.Message)
		}
		return c.netError("AUTH", err)
	}
	return nil
}

// tlsError turns a handshake failure into a reason naming the certificate
// problem and the trust anchors used.
func (c *Conn) tlsError(err error) error {
	roots := "system roots"
	if c.t.RootsName != "" {
		roots = "ca=" + c.t.RootsName
	}
	name := c.t.serverName()
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var ve *tls.CertificateVerificationError
	switch {
	case errors.As(err, &ua):
		return tempf("tls", "certificate for %s signed by unknown authority (%s)", name, roots)
	case errors.As(err, &he):
		return tempf("tls", "certificate of %s %s is not valid for %s (it is for %s); set tls_server_name if the smarthost is known by another name", c.t.Role, c.t.Addr, name, certNames(he.Certificate))
	case errors.As(err, &ci):
		return tempf("tls", "certificate for %s is invalid: %v", name, ci)
	case errors.As(err, &ve):
		return tempf("tls", "certificate for %s: %v (%s)", name, ve.Err, roots)
	}
	return tempf("tls", "TLS with %s %s failed: %v", c.t.Role, c.t.Addr, netReason(err))
}

func certNames(cert *x509.Certificate) string {
	if cert == nil {
		return "?"
	}
	names := append([]string{}, cert.DNSNames...)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		names = append(names, cert.Subject.CommonName)
	}
	return strings.Join(names, ", ")
}

// replyError describes a failed command: an SMTP reply or a network error.
func (c *Conn) replyError(cmd string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		status := ""
		if ec := se.EnhancedCode; ec[0] != 0 {
			status = fmt.Sprintf("%d.%d.%d", ec[0], ec[1], ec[2])
		}
		return &Error{Kind: "reply", Temporary: se.Code/100 != 5, Code: se.Code, Status: status,
			Reason: fmt.Sprintf("%s %s answered %s with %d %s", c.t.Role, c.t.Addr, cmd, se.Code, oneLine(se.Message))}
	}
	return c.netError(cmd, err)
}

func (c *Conn) netError(cmd string, err error) error {
	return tempf("network", "%s %s: %s failed: %v", c.t.Role, c.t.Addr, cmd, netReason(err))
}

// netReason shortens network errors to their cause, and says "timed out"
// for deadlines.
func netReason(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "connection closed by peer"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Close ends the session politely.
func (c *Conn) Close() {
	c.raw.limit(c.t.Timeout)
	c.c.Quit()
	c.c.Close()
}

// Idle reports how long the connection has been unused.
func (c *Conn) Idle() time.Duration { return time.Since(c.used) }
