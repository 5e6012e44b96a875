// Package admin is the admin web UI's listener: HTTPS on its own address,
// the access rules every admin page shares (IP allowlist, optional login,
// CSRF on state changes), the home page listing the parts, and /metrics.
//
// Order of the rules, for every request:
//  1. security headers; methods other than GET, HEAD and POST are refused;
//  2. the client address must be in admin.allow, else 403. X-Forwarded-For
//     is believed only from a peer in trusted_proxies (see clientIP);
//  3. /static/style.css, /healthz and /metrics need nothing more, so that a
//     Prometheus on an allowed address scrapes without a login;
//  4. every other page needs a login when admin.users is set (else a 303 to
//     /login), and every POST needs a valid CSRF token (else 403).
package admin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"bartleby/internal/admin/ui"
	"bartleby/internal/certs"
	"bartleby/internal/config"
	"bartleby/internal/control"
	"bartleby/internal/part"
)

// DefaultSessionTTL is how long a login lasts without use when
// admin.session_ttl is absent.
const DefaultSessionTTL = 12 * time.Hour

// Deps is what the daemon hands the admin UI besides the Env: the other
// parts' pages, their status and their metrics.
type Deps struct {
	Pages   []part.AdminPage
	Status  func() control.Status
	Metrics prometheus.Gatherer
	// Notices returns the running parts' warnings for the home page.
	Notices func() []part.Notice
}

// Server is the admin UI.
type Server struct {
	log     *slog.Logger
	listen  string
	allow   []netip.Prefix
	trusted []netip.Prefix
	users   map[string][]byte // nil: no login
	dummy   []byte            // compared for unknown users, to keep timing flat
	deps    Deps
	nav     []ui.Link

	sessions *sessions
	limit    *limiter
	csrfKey  []byte
	logins   *prometheus.CounterVec
	now      func() time.Time

	handler http.Handler
	tls     *tls.Config
	srv     *http.Server
	ln      net.Listener
}

// New builds the admin UI, or returns nil when [admin] is absent.
func New(env *part.Env, deps Deps) (part.Part, error) {
	a := env.Config.Admin
	if a == nil {
		return nil, nil
	}
	s, err := newServer(env.Config, env.Log, env.Metrics, deps)
	if err != nil {
		return nil, err
	}
	s.tls, err = env.Certs.TLSConfig(certs.Source{Names: certNames(env.Config), CertFile: a.Cert, KeyFile: a.Key})
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	return s, nil
}

// certNames are the names a self-signed admin certificate is made for:
// the host name (the certs package adds localhost and the loopback IPs).
func certNames(cfg *config.Config) []string {
	if cfg.Hostname == "" {
		return nil
	}
	return []string{cfg.Hostname}
}

// newServer builds the handler side, without TLS: tests use it directly.
func newServer(cfg *config.Config, log *slog.Logger, reg prometheus.Registerer, deps Deps) (*Server, error) {
	a := cfg.Admin
	s := &Server{
		log: log, listen: a.Listen, allow: a.AllowNets, trusted: cfg.Trusted, deps: deps,
		sessions: newSessions(a.SessionTTL.Or(DefaultSessionTTL)),
		limit:    newLimiter(),
		csrfKey:  randomKey(),
		now:      time.Now,
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bartleby_admin_logins_total",
			Help: "Admin UI login attempts by result (ok, failed, limited).",
		}, []string{"result"}),
	}
	for _, result := range []string{"ok", "failed", "limited"} {
		s.logins.WithLabelValues(result)
	}
	if err := reg.Register(s.logins); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if err := s.setUsers(a.Users); err != nil {
		return nil, err
	}
	mux, err := s.routes()
	if err != nil {
		return nil, err
	}
	s.handler = s.guard(mux)
	return s, nil
}

// setUsers keeps the users' hashes and makes the dummy hash unknown users
// are checked against, at the highest cost in use.
func (s *Server) setUsers(users map[string]string) error {
	if len(users) == 0 {
		return nil
	}
	s.users = map[string][]byte{}
	maxCost := bcrypt.MinCost
	for name, h := range users {
		cost, err := bcrypt.Cost([]byte(h))
		if err != nil {
			return fmt.Errorf("admin.users.%s: %w", name, err)
		}
		maxCost = max(maxCost, cost)
		s.users[name] = []byte(h)
	}
	var err error
	s.dummy, err = bcrypt.GenerateFromPassword(randomKey(), maxCost)
	return err
}

// ServeHTTP answers through the access rules.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Name is "admin".
func (s *Server) Name() string { return "admin" }

// Start binds admin.listen and serves HTTPS in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.listen)
	if err != nil {
		return err
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s,
		TLSConfig:         s.tls,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := s.srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin listener failed", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return nil
}

// Addrs is the bound address.
func (s *Server) Addrs() []string {
	if s.ln == nil {
		return nil
	}
	return []string{s.ln.Addr().String()}
}

// Shutdown stops accepting connections and waits for the requests in
// flight until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Shutdown(ctx)
}
