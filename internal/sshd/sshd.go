// Package sshd is the jailed SFTP and rsync server: virtual users from the
// config, each locked in their jail (internal/jail), offered the sftp
// subsystem and, when allowed, a checked and confined `rsync --server`.
// Shells, ptys, other commands, environment and every kind of forwarding
// are refused.
package sshd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/ssh"

	"bartleby/internal/accept"
	"bartleby/internal/config"
	"bartleby/internal/connlimit"
	"bartleby/internal/jail"
	"bartleby/internal/lasthour"
	"bartleby/internal/part"
)

// Server is the ssh part.
type Server struct {
	log      *slog.Logger
	stateDir string
	defender *defender
	blocks   *blocklist // the fleet's shared blocks; nil on a single host
	metrics  *metrics
	// failedHour counts failed logins for the admin card.
	failedHour lasthour.Counter
	rsyncErr   error // why rsync cannot run here, nil when it can
	// failTimer pads every failed password check (see timing.go).
	failTimer failTimer
	// cur is the config new connections are served with; a reload swaps
	// it, and connections keep the one they started with.
	cur atomic.Pointer[generation]

	died  func(error) // a listener stopped for good
	wg    sync.WaitGroup
	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	// logins are the logged-in connections and their users, so that a
	// reload removing a user can end that user's sessions.
	logins map[*ssh.ServerConn]string
	// failedConns are the connections (by remote address) that have
	// failed a login; one that ends unauthenticated without failing is
	// counted as a failure when it ends.
	failedConns map[string]bool
}

// generation is one version of [ssh], compiled: what a connection is
// served with from its first byte to its last.
type generation struct {
	cfg    *config.SSH
	users  map[string]*user
	sshCfg *ssh.ServerConfig
	// dummyHash is checked for unknown users, so that a failure takes the
	// same time for everyone.
	dummyHash string
	slots     chan struct{}
	// startups counts connections not yet logged in, per address.
	startups *connlimit.Limiter
}

// New builds the ssh part, or returns nil when its section is absent.
func New(env *part.Env) (part.Part, error) {
	c := env.Config.SSH
	if c == nil {
		return nil, nil
	}
	s := &Server{
		log: env.Log, stateDir: env.Config.StateDir, died: env.Fail,
		defender:    newDefender(c.Defender.Failures, c.Defender.Window.Duration, c.Defender.BlockFor.Duration),
		conns:       map[net.Conn]struct{}{},
		logins:      map[*ssh.ServerConn]string{},
		failedConns: map[string]bool{},
		rsyncErr:    jail.RsyncSupport(),
	}
	var err error
	if s.metrics, err = newMetrics(env.Metrics); err != nil {
		return nil, err
	}
	g, err := s.compile(env.Config, nil)
	if err != nil {
		return nil, err
	}
	s.cur.Store(g)
	if env.Fleet != nil {
		s.blocks = shareBlocks(env.Fleet, s.defender, env.Log)
	}
	return s, nil
}

// compile checks and compiles cfg's [ssh] into a generation. Connection
// counters are carried over from old when their limits did not change.
func (s *Server) compile(cfg *config.Config, old *generation) (*generation, error) {
	c := cfg.SSH
	check := cfg.Checker()
	users := compile(cfg, check)
	if err := check.Err(); err != nil {
		return nil, err
	}
	g := &generation{cfg: c, users: users,
		slots:    make(chan struct{}, c.MaxConnections),
		startups: connlimit.New(c.MaxStartups, c.PerSourceMaxStartups)}
	if old != nil && old.cfg.MaxConnections == c.MaxConnections {
		g.slots = old.slots
	}
	if old != nil && old.cfg.MaxStartups == c.MaxStartups && old.cfg.PerSourceMaxStartups == c.PerSourceMaxStartups {
		g.startups = old.startups
	}
	for _, u := range users {
		if u.Rsync && s.rsyncErr != nil {
			s.log.Error("rsync is refused for this user", "event", "ssh.rsync_unavailable", "user", u.Name, "err", s.rsyncErr)
		}
	}
	var err error
	if g.dummyHash, err = slowestHash(users, &s.failTimer); err != nil {
		return nil, err
	}
	keys, err := loadHostKeys(c.HostKeys, filepath.Join(s.stateDir, "ssh"))
	if err != nil {
		return nil, err
	}
	g.sshCfg = s.serverConfig(g)
	for _, k := range keys {
		g.sshCfg.AddHostKey(k)
		s.log.Info("host key", "event", "ssh.host_key", "type", k.PublicKey().Type(), "fingerprint", ssh.FingerprintSHA256(k.PublicKey()))
	}
	return g, nil
}

// serverConfig offers modern algorithms only: no DSA, no SHA-1 key
// exchange, MAC or signature. The ciphers default to AES-GCM only (see
// config.SSH.Ciphers): the client's preference decides among the ciphers
// both sides know, and OpenSSH prefers chacha20-poly1305 (no amd64
// assembly in x/crypto: ~0.65 GB/s against ~5 GB/s for AES-GCM), then
// AES-CTR with a separate MAC, either of which would win over AES-GCM if
// offered. Every OpenSSH since 6.2 speaks AES-GCM.
func (s *Server) serverConfig(g *generation) *ssh.ServerConfig {
	cfg := &ssh.ServerConfig{
		Config: ssh.Config{
			KeyExchanges: []string{ssh.KeyExchangeMLKEM768X25519, ssh.KeyExchangeCurve25519,
				ssh.KeyExchangeECDHP256, ssh.KeyExchangeECDHP384, ssh.KeyExchangeECDHP521, ssh.KeyExchangeDH16SHA512},
			Ciphers: g.cfg.Ciphers,
			MACs:    []string{ssh.HMACSHA256ETM, ssh.HMACSHA512ETM, ssh.HMACSHA256, ssh.HMACSHA512},
		},
		PublicKeyAuthAlgorithms: []string{ssh.KeyAlgoED25519, ssh.KeyAlgoSKED25519, ssh.KeyAlgoECDSA256,
			ssh.KeyAlgoSKECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSASHA512},
		MaxAuthTries: g.cfg.MaxAuthTries,
		PasswordCallback: func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			return s.password(g, c, pw)
		},
		PublicKeyCallback: func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			return publicKey(g, c, key)
		},
		AuthLogCallback: s.authLog,
		ServerVersion:   "SSH-2.0-bartleby",
	}
	return cfg
}

// Name is the part's name.
func (s *Server) Name() string { return "ssh" }

// Addrs lists the listener.
func (s *Server) Addrs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return []string{s.ln.Addr().String()}
}

// Start binds the listener and serves in the background.
func (s *Server) Start() error {
	g := s.cur.Load()
	if err := prepareDirs(g); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", g.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", g.cfg.Listen, err)
	}
	ln = accept.Retry(ln, s.log, s.died)
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.log.Info("listening", "event", "ssh.listening", "addr", ln.Addr().String(), "users", len(g.users))
	s.wg.Add(1)
	go s.serve(ln)
	return nil
}

// prepareDirs makes the users' roots and their writable mounts ready for
// them (owner, group, mode: see perms.go).
func prepareDirs(g *generation) error {
	for _, u := range g.cfg.Users {
		if err := os.MkdirAll(u.Root, 0o755); err != nil {
			return fmt.Errorf("root of %s: %w", u.Name, err)
		}
	}
	for _, u := range g.users {
		for _, m := range u.mounts {
			if m.ReadOnly {
				continue
			}
			if err := jail.PrepareDir(m.Dir, u.perms); err != nil {
				return fmt.Errorf("user %s: %w", u.Name, err)
			}
		}
	}
	return nil
}

// serve accepts on ln until it is closed, serving each connection with
// the config current when it came in.
func (s *Server) serve(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return // closed, or failed for good and reported by accept.Retry
		}
		addr := remoteAddr(c.RemoteAddr())
		if s.defender.Blocked(addr) {
			s.metrics.refused.WithLabelValues("blocked").Inc()
			s.log.Warn("connection refused: address blocked after failed logins", "event", "ssh.refused_blocked", "addr", addr)
			c.Close()
			continue
		}
		g := s.cur.Load()
		select {
		case g.slots <- struct{}{}:
		default:
			s.metrics.refused.WithLabelValues("too_many").Inc()
			s.log.Warn("connection refused: max_connections reached", "event", "ssh.refused_busy", "addr", addr)
			c.Close()
			continue
		}
		if !g.startups.Take(addr) {
			<-g.slots
			s.metrics.refused.WithLabelValues("startups").Inc()
			c.Close()
			const why = "connection refused: too many connections not logged in (max_startups, per_source_max_startups)"
			if g.startups.Holds(addr) {
				// A flood from one address is an attack the defender
				// must see, though no login failed.
				s.fail(addr, "ssh.refused_startups", why)
			} else {
				s.log.Warn(why, "event", "ssh.refused_startups", "addr", addr)
			}
			continue
		}
		s.track(c, true)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-g.slots }()
			defer s.track(c, false)
			s.handle(c, g)
		}()
	}
}

func (s *Server) track(c net.Conn, add bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
}

// Shutdown stops accepting and waits for sessions to end until ctx is
// done, then cuts them.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Unlock()
	if s.blocks != nil {
		defer s.blocks.close()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	<-done
	return nil
}

func remoteAddr(a net.Addr) netip.Addr { return connlimit.AddrOf(a) }

type metrics struct {
	logins   *prometheus.CounterVec
	refused  *prometheus.CounterVec
	sessions *prometheus.CounterVec
	active   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bartleby_ssh_logins_total",
			Help: "SSH authentication attempts by method and result."}, []string{"method", "result"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bartleby_ssh_connections_refused_total",
			Help: "SSH connections refused, by reason: before the handshake (blocked, too_many, startups) or at login (per_user)."}, []string{"reason"}),
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bartleby_ssh_sessions_total",
			Help: "SSH session requests by kind and result."}, []string{"kind", "result"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{Name: "bartleby_ssh_connections_active",
			Help: "SSH connections logged in now."}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.logins, m.refused, m.sessions, m.active} {
			if err := reg.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if !errors.As(err, &are) {
					return nil, fmt.Errorf("metrics: %w", err)
				}
			}
		}
	}
	return m, nil
}

// knownKinds are the channel and request types OpenSSH clients send; they
// are metric labels as they are.
var knownKinds = map[string]bool{
	"direct-tcpip": true, "forwarded-tcpip": true, "x11": true, "auth-agent@openssh.com": true,
	"shell": true, "pty-req": true, "env": true, "x11-req": true, "auth-agent-req@openssh.com": true,
	"subsystem": true, "signal": true, "window-change": true, "break": true,
}

// metricKind is a client-chosen type as a metric label: any type outside
// knownKinds is "other", so a client cannot grow the series without bound.
func metricKind(t string) string {
	if knownKinds[t] {
		return t
	}
	return "other"
}
