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
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"bartleby/internal/accept"
	"bartleby/internal/adminui"
	"bartleby/internal/certs"
	"bartleby/internal/config"
	"bartleby/internal/control"
	"bartleby/internal/fleet"
	"bartleby/internal/logring"
	"bartleby/internal/part"
)

// Deps is what the daemon hands the admin UI besides the Env: the other
// parts' pages, their status and their metrics.
type Deps struct {
	Pages   []part.AdminPage
	Status  func() control.Status
	Metrics prometheus.Gatherer
	// Notices returns the running parts' warnings for the home page.
	Notices func() []part.Notice
	// Cards returns the running parts' health for the home page.
	Cards func() []part.Card
	// Logs are the last log records per part, for the log view.
	Logs *logring.Ring
	// Certs lists the certificates in use, for the certificates page.
	Certs func() []certs.Cert
}

// Server is the admin UI. What a config reload replaces is in a view,
// read through one atomic pointer; the logins, the login limiter and the
// CSRF key belong to the Server and outlive reloads.
type Server struct {
	log    *slog.Logger
	listen string
	view   atomic.Pointer[view]

	sessions *sessions
	limit    *limiter
	csrfKey  []byte
	logins   *prometheus.CounterVec
	now      func() time.Time

	srv  *http.Server
	ln   net.Listener
	fail func(error) // the listener stopped for good
}

// view is the admin UI under one config and one set of part pages. A
// request reads the Server's view once and keeps it to the end, so a
// reload never mixes two configs in one answer.
type view struct {
	*Server
	allow   []netip.Prefix
	trusted []netip.Prefix
	users   map[string][]byte // nil: no login
	dummy   []byte            // compared for unknown users, to keep timing flat
	deps    Deps
	fleet   *fleet.Fleet // nil without [fleet]
	host    string       // named on the login page
	nav     []adminui.Link
	handler http.Handler
	tls     *tls.Config // nil in tests without a listener
}

// New builds the admin UI, or returns nil when [admin] is absent.
func New(env *part.Env, deps Deps) (part.Part, error) {
	if env.Config.Admin == nil {
		return nil, nil
	}
	tc, err := tlsConfig(env)
	if err != nil {
		return nil, err
	}
	s, err := newServer(env.Config, env.Log, env.Metrics, deps, env.Fleet, tc)
	if err != nil {
		return nil, err
	}
	s.fail = env.Fail
	return s, nil
}

// Reload takes a new config and the pages of the parts running now, in
// place: logins, the login limiter and the CSRF key stay. A user no longer
// configured, or whose password hash changed, is logged out; a changed
// session_ttl applies to the open sessions too; a changed cert, key or
// hostname applies to new connections. A changed admin.listen, or a
// config without [admin], cannot be taken in place: Reload then changes
// nothing and returns an error, and the caller restarts the admin UI. On
// any error the running view stays.
func (s *Server) Reload(env *part.Env, deps Deps) error {
	a := env.Config.Admin
	switch {
	case a == nil:
		return errors.New("the [admin] section is gone")
	case a.Listen != s.listen:
		return fmt.Errorf("admin.listen changed from %s to %s", s.listen, a.Listen)
	}
	tc, err := tlsConfig(env)
	if err != nil {
		return err
	}
	v, err := s.newView(env.Config, deps, env.Fleet, tc)
	if err != nil {
		return err
	}
	s.sessions.setTTL(a.SessionTTL.Duration)
	s.view.Store(v)
	return nil
}

func tlsConfig(env *part.Env) (*tls.Config, error) {
	a := env.Config.Admin
	tc, err := env.Certs.TLSConfig(env.Certs.HostSource(certNames(env.Config), a.Cert, a.Key))
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	return tc, nil
}

// certNames are the names a self-signed admin certificate is made for:
// the host name (the certs package adds localhost and the loopback IPs).
func certNames(cfg *config.Config) []string {
	if cfg.Hostname == "" {
		return nil
	}
	return []string{cfg.Hostname}
}

// newServer builds the admin UI; tests pass a nil tc and serve through
// ServeHTTP without a listener.
func newServer(cfg *config.Config, log *slog.Logger, reg prometheus.Registerer, deps Deps, fl *fleet.Fleet, tc *tls.Config) (*Server, error) {
	a := cfg.Admin
	s := &Server{
		log: log, listen: a.Listen,
		sessions: newSessions(a.SessionTTL.Duration),
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
	v, err := s.newView(cfg, deps, fl, tc)
	if err != nil {
		return nil, err
	}
	if err := reg.Register(s.logins); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	s.view.Store(v)
	return s, nil
}

// newView builds the part of the admin UI a reload replaces.
func (s *Server) newView(cfg *config.Config, deps Deps, fl *fleet.Fleet, tc *tls.Config) (*view, error) {
	v := &view{Server: s, allow: config.Prefixes(cfg.Admin.Allow), trusted: config.Prefixes(cfg.TrustedProxies), deps: deps, fleet: fl, tls: tc, host: cfg.Hostname}
	if err := v.setUsers(cfg.Admin.Users); err != nil {
		return nil, err
	}
	mux, err := v.routes()
	if err != nil {
		return nil, err
	}
	v.handler = v.guard(mux)
	return v, nil
}

// setUsers keeps the users' hashes and makes the dummy hash unknown users
// are checked against, at the highest cost in use.
func (v *view) setUsers(users map[string]string) error {
	if len(users) == 0 {
		return nil
	}
	v.users = map[string][]byte{}
	maxCost := bcrypt.MinCost
	for name, h := range users {
		cost, err := bcrypt.Cost([]byte(h))
		if err != nil {
			return fmt.Errorf("admin.users.%s: %w", name, err)
		}
		maxCost = max(maxCost, cost)
		v.users[name] = []byte(h)
	}
	var err error
	v.dummy, err = bcrypt.GenerateFromPassword(randomKey(), maxCost)
	return err
}

// ServeHTTP answers through the access rules.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.view.Load().handler.ServeHTTP(w, r)
}

// Name is "admin".
func (s *Server) Name() string { return "admin" }

// Start binds admin.listen and serves HTTPS in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.listen)
	if err != nil {
		return err
	}
	s.ln = accept.Retry(ln, s.log, s.fail)
	s.srv = &http.Server{
		Handler:           s,
		TLSConfig:         s.tlsConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.With("event", "admin.http_error").Handler(), slog.LevelDebug),
	}
	go func() {
		s.srv.ServeTLS(s.ln, "", "") // a failure is reported by accept.Retry
	}()
	return nil
}

// tlsConfig is the listener's TLS config: each handshake takes the
// current view's, so a reload's certificate applies to new connections.
func (s *Server) tlsConfig() *tls.Config {
	tc := s.view.Load().tls.Clone()
	tc.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		return s.view.Load().tls, nil
	}
	return tc
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
