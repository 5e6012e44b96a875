package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"bartleby/internal/config"
	"bartleby/internal/mail/smtpd"
)

// The roles of the SMTP listeners.
const (
	roleSubmit = "submit"
	roleMX     = "backup_mx"
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
	g := &servers{byRole: map[string]*smtp.Server{}, feeds: map[string]*feed{}}
	if len(k.cfg.Submit) > 0 {
		g.add(roleSubmit, smtpd.New(smtpd.Config{Name: roleSubmit, Hostname: k.hostname, MaxSize: k.maxSize(),
			MaxRecipients: 1000, LongLines: true, Log: m.log}, submitHandler{m: m, k: k}))
	}
	if k.cfg.BackupMX != nil {
		s, err := m.mxServer(k)
		if err != nil {
			return nil, err
		}
		g.add(roleMX, s)
	}
	return g, nil
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

func (f *feed) Accept() (net.Conn, error) {
	select {
	case c := <-f.conns:
		return c, nil
	case <-f.done:
		return nil, net.ErrClosed
	}
}

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
	role string
	addr string // as configured
	ln   net.Listener
	to   atomic.Pointer[feed]
}

// slot names one listening address of a role.
type slot struct{ role, addr string }

// wanted lists the addresses cfg listens on.
func wanted(cfg *config.Mail) []slot {
	var out []slot
	for _, a := range cfg.Submit {
		out = append(out, slot{roleSubmit, a})
	}
	if b := cfg.BackupMX; b != nil {
		for _, a := range b.Listen {
			out = append(out, slot{roleMX, a})
		}
	}
	return out
}

// openSockets binds every slot, or none: on failure those bound are
// closed again.
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
		if sl.role == roleMX {
			b := k.cfg.BackupMX
			ln = smtpd.Limit(ln, b.MaxConnections, b.MaxPerIP, b.GreetPause.Duration, m.log)
		}
		out = append(out, &socket{role: sl.role, addr: sl.addr, ln: ln})
	}
	return out, nil
}

// feed points the socket at the server of its role in g.
func (s *socket) feed(g *servers) { s.to.Store(g.feeds[s.role]) }

// serve accepts until the socket is closed, retrying temporary errors
// (out of file descriptors) with a growing pause, as net/http does.
func (s *socket) serve(log *slog.Logger) {
	var pause time.Duration
	for {
		c, err := s.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			log.Error("smtp accept failed; retrying", "addr", s.addr, "error", err, "in", pause)
			time.Sleep(pause)
			continue
		}
		pause = 0
		s.handOver(c)
	}
}

// handOver gives c to the server the socket points at; when that server
// closed meanwhile (a reload), to the one it points at now.
func (s *socket) handOver(c net.Conn) {
	for {
		f := s.to.Load()
		select {
		case f.conns <- c:
			return
		case <-f.done:
			if s.to.Load() == f { // shutting down
				c.Close()
				return
			}
		}
	}
}
