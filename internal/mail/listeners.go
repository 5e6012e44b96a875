package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/emersion/go-smtp"

	"bartleby/internal/accept"
	"bartleby/internal/config"
	"bartleby/internal/mail/smtpd"
)

// The roles of the SMTP servers. Submission is served twice: on its own
// addresses, and on the backup MX ports to the clients in submit_from
// (one port 25 for both), with STARTTLS there.
const (
	roleSubmit   = "submit"
	roleMX       = "backup_mx"
	roleMXSubmit = "backup_mx_submit"
)

// servers are the SMTP servers of one config version, one per role, each
// serving the connections its feed is handed.
type servers struct {
	byRole map[string]*smtp.Server
	feeds  map[string]*feed
}

// newServers starts the SMTP servers of config k; they serve nothing until
// sockets feed them.
func (m *Mail) newServers(k *conf) (*servers, error) {
	var mxTLS *tls.Config
	if b := k.cfg.BackupMX; b != nil {
		var err error
		if mxTLS, err = k.certs.TLSConfig(k.certs.HostSource([]string{k.hostname}, b.Cert, b.Key)); err != nil {
			return nil, fmt.Errorf("mail.backup_mx: %w", err)
		}
		mxTLS.NextProtos = nil
	}
	g := &servers{byRole: map[string]*smtp.Server{}, feeds: map[string]*feed{}}
	if len(k.cfg.Submit) > 0 {
		g.add(roleSubmit, m.submitServer(k, nil))
	}
	if mxTLS != nil {
		g.add(roleMX, m.mxServer(k, mxTLS))
		if k.smarthost != nil && len(k.submitFrom) > 0 {
			g.add(roleMXSubmit, m.submitServer(k, mxTLS))
		}
	}
	return g, nil
}

// submitServer is submission's SMTP server: relaying through the
// smarthost, long lines accepted and re-encoded. tlsCfg offers STARTTLS,
// for the clients of the port shared with the backup MX.
func (m *Mail) submitServer(k *conf, tlsCfg *tls.Config) *smtp.Server {
	return smtpd.New(smtpd.Config{Name: roleSubmit, Hostname: k.hostname, MaxSize: k.maxSize(),
		MaxRecipients: 1000, LongLines: true, TLS: tlsCfg, Spool: m.q.Dir(), Log: m.log}, submitHandler{m: m, k: k})
}

func (g *servers) add(role string, s *smtp.Server) {
	f := &feed{conns: make(chan net.Conn), done: make(chan struct{})}
	g.byRole[role], g.feeds[role] = s, f
	go s.Serve(f)
}

// shutdown stops the servers taking connections and waits, until ctx
// ends, for their sessions to finish.
func (g *servers) shutdown(ctx context.Context) error {
	var errs []error
	for _, s := range g.byRole {
		if err := s.Shutdown(ctx); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// feed is the listener an SMTP server serves: the connections sockets
// hand it, until the server closes it.
type feed struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (f *feed) Accept() (net.Conn, error) { return smtpd.AcceptFrom(f.conns, f.done) }

func (f *feed) Close() error {
	f.once.Do(func() { close(f.done) })
	return nil
}

func (f *feed) Addr() net.Addr { return feedAddr{} }

type feedAddr struct{}

func (feedAddr) Network() string { return "tcp" }
func (feedAddr) String() string  { return "feed" }

// socket is one listening address. It outlives the servers: a reload
// points it at the servers of the new config, while those of the old one
// finish their sessions, so no connection is refused.
type socket struct {
	role string // roleSubmit or roleMX
	addr string // as configured
	ln   net.Listener
	to   atomic.Pointer[servers]
}

// slot names one listening address of a role.
type slot struct{ role, addr string }

// wanted lists the addresses cfg listens on; a submission address on a
// backup MX port is served by that port's socket.
func wanted(cfg *config.Mail) []slot {
	var out []slot
	for _, a := range cfg.Submit {
		if !cfg.OnBackupMX(a) {
			out = append(out, slot{roleSubmit, a})
		}
	}
	if b := cfg.BackupMX; b != nil {
		for _, a := range b.Listen {
			out = append(out, slot{roleMX, a})
		}
	}
	return out
}

// openSockets binds every slot, or none: on failure those bound are
// closed again. Transient accept errors (out of file descriptors) are
// waited out; a socket that dies for good marks the part failing.
func (m *Mail) openSockets(k *conf, slots []slot) ([]*socket, error) {
	var out []*socket
	for _, sl := range slots {
		ln, err := net.Listen("tcp", sl.addr)
		if err != nil {
			for _, s := range out {
				s.ln.Close()
			}
			return nil, fmt.Errorf("listen %s: %w", sl.addr, err)
		}
		ln = accept.Retry(ln, m.log, m.fail)
		switch sl.role {
		case roleMX:
			b := k.cfg.BackupMX
			ln = smtpd.Limit(ln, b.MaxConnections, b.MaxPerIP, b.GreetPause.Duration, m.submits, m.log)
		case roleSubmit:
			// Loopback only (check refuses anything else): every client
			// is one of the host's programs, spared the per-address
			// limit and the greet pause.
			ln = smtpd.Limit(ln, submitConnections, submitConnections, 0, func(netip.Addr) bool { return true }, m.log)
		}
		out = append(out, &socket{role: sl.role, addr: sl.addr, ln: ln})
	}
	return out, nil
}

// submitConnections bounds the sessions of a submission listener, as
// Postfix's default_process_limit bounds its smtpd processes: without it
// any local user could hold every file descriptor of the daemon (the web
// front and SFTP too) with idle connections. sendmail takes the 421 past
// it as "not running" and uses the maildrop.
const submitConnections = 100

// submits reports whether a client of a backup MX port is local
// submission, by the config in force.
func (m *Mail) submits(client netip.Addr) bool { return m.conf().submits(client) }

// feed points the socket at the servers g.
func (s *socket) feed(g *servers) { s.to.Store(g) }

// serve accepts in the background until the socket is closed. A backup
// MX port is split by client address: the clients in submit_from go to
// submission, the others to the backup MX.
func (s *socket) serve(m *Mail) {
	if s.role != roleMX {
		go s.accept(s.ln, s.role)
		return
	}
	local, remote := smtpd.Split(s.ln, m.submits)
	go s.accept(local, roleMXSubmit)
	go s.accept(remote, roleMX)
}

// accept hands what ln accepts to the server of role, until ln is closed
// or dies (accept.Retry has waited out the transient errors).
func (s *socket) accept(ln net.Listener, role string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.handOver(c, role)
	}
}

// handOver gives c to the server of role the socket points at; when that
// server closed meanwhile (a reload), to the one it points at now.
func (s *socket) handOver(c net.Conn, role string) {
	for {
		g := s.to.Load()
		f := g.feeds[role]
		if f == nil {
			// A reload dropped submit_from between the split and now:
			// the client tries again.
			c.Close()
			return
		}
		select {
		case f.conns <- c:
			return
		case <-f.done:
			if s.to.Load() == g { // shutting down
				c.Close()
				return
			}
		}
	}
}
