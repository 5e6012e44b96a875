package mailtest

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options shape a Peer.
type Options struct {
	Addr     string           // "" picks a free loopback port
	Cert     *tls.Certificate // STARTTLS (or implicit TLS) with this certificate
	Implicit bool             // TLS from the first byte
	Username string           // AUTH PLAIN/LOGIN required when set
	Password string
	Mechs    []string           // offered mechanisms; default PLAIN and LOGIN
	Rcpt     func(string) error // per-recipient answer; nil accepts
}

// Msg is a message the peer accepted.
type Msg struct {
	From  string
	Rcpts []string
	Data  []byte
	Auth  string // the user who logged in
	TLS   bool
}

// Peer is an SMTP server standing in for a smarthost or a primary MX.
type Peer struct {
	Addr string
	srv  *smtp.Server
	ln   net.Listener

	mu    sync.Mutex
	msgs  []Msg
	auths int
	added chan struct{}
}

// StartPeer starts a peer and stops it when the test ends.
func StartPeer(t testing.TB, o Options) *Peer {
	t.Helper()
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Mechs == nil {
		o.Mechs = []string{sasl.Plain, sasl.Login}
	}
	p := &Peer{added: make(chan struct{}, 1)}
	p.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &peerSession{p: p, o: &o, c: c}, nil
	}))
	p.srv.Domain = "peer.test"
	p.srv.ReadTimeout, p.srv.WriteTimeout = 30*time.Second, 30*time.Second
	p.srv.ErrorLog = nopLog{}
	if o.Cert != nil {
		p.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*o.Cert}}
	}
	var err error
	if o.Implicit {
		p.ln, err = tls.Listen("tcp", o.Addr, p.srv.TLSConfig)
	} else {
		p.ln, err = listenRetry(o.Addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	p.Addr = p.ln.Addr().String()
	go p.srv.Serve(p.ln)
	t.Cleanup(p.Close)
	return p
}

// listenRetry binds addr, retrying briefly: a peer restarted on the port
// of one just closed may find it in TIME_WAIT for a moment.
func listenRetry(addr string) (net.Listener, error) {
	var err error
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, err
}

// Close stops the peer.
func (p *Peer) Close() { p.srv.Close() }

// Messages returns what was accepted so far.
func (p *Peer) Messages() []Msg {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Msg(nil), p.msgs...)
}

// Auths counts successful logins.
func (p *Peer) Auths() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.auths
}

// Wait waits until n messages arrived or timeout passed, and returns them.
func (p *Peer) Wait(n int, timeout time.Duration) []Msg {
	deadline := time.After(timeout)
	for {
		if m := p.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-p.added:
		case <-deadline:
			return p.Messages()
		}
	}
}

type peerSession struct {
	p     *Peer
	o     *Options
	c     *smtp.Conn
	user  string
	from  string
	rcpts []string
}

func (s *peerSession) AuthMechanisms() []string {
	if s.o.Username == "" {
		return nil
	}
	return s.o.Mechs
}

func (s *peerSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != s.o.Username || pass != s.o.Password {
			return errors.New("invalid credentials")
		}
		s.user = user
		s.p.mu.Lock()
		s.p.auths++
		s.p.mu.Unlock()
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *peerSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.o.Username != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *peerSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.o.Rcpt != nil {
		if err := s.o.Rcpt(to); err != nil {
			return err
		}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *peerSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.c.TLSConnectionState()
	s.p.mu.Lock()
	s.p.msgs = append(s.p.msgs, Msg{From: s.from, Rcpts: s.rcpts, Data: b, Auth: s.user, TLS: isTLS})
	s.p.mu.Unlock()
	select {
	case s.p.added <- struct{}{}:
	default:
	}
	return nil
}

func (s *peerSession) Reset()        { s.from, s.rcpts = "", nil }
func (s *peerSession) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl lacks.
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if len(resp) == 0 {
			return []byte("Username:"), false, nil
		}
		l.user = string(resp)
		l.step = 2
		return []byte("Password:"), false, nil
	case 1:
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(l.user, string(resp))
}

type nopLog struct{}

func (nopLog) Printf(string, ...any) {}
func (nopLog) Println(...any)        {}

// RejectRcpt answers RCPT for addresses containing substr with code.
func RejectRcpt(substr string, code int) func(string) error {
	return func(addr string) error {
		if strings.Contains(addr, substr) {
			return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 1, 1}, Message: "mailbox unavailable"}
		}
		return nil
	}
}
