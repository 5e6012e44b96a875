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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/ssh"

	"bartleby/internal/accept"
	"bartleby/internal/config"
	"bartleby/internal/connlimit"
	"bartleby/internal/jail"
	"bartleby/internal/part"
)

// Server is the ssh part.
type Server struct {
	cfg      *config.SSH
	log      *slog.Logger
	users    map[string]*user
	sshCfg   *ssh.ServerConfig
	defender *defender
	blocks   *blocklist // the fleet's shared blocks; nil on a single host
	metrics  *metrics
	grace    time.Duration
	idle     time.Duration
	rsyncErr error // why rsync cannot run here, nil when it can
	// dummyHash is checked for unknown users and failTimer pads every
	// failure, so that failures take the same time for everyone.
	dummyHash string
	failTimer failTimer

	ln    net.Listener
	died  func(error) // a listener stopped for good
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	slots chan struct{}
	// startups counts connections not yet logged in, per address.
	startups *connlimit.Limiter
	// failedConns are the connections (by remote address) that have
	// failed a login; one that ends unauthenticated without failing is
	// counted as a failure when it ends.
	failedConns map[string]bool
}

// New builds the ssh part, or returns nil when its section is absent.
func New(env *part.Env) (part.Part, error) {
	c := env.Config.SSH
	if c == nil {
		return nil, nil
	}
	check := env.Config.Checker()
	users := compile(env.Config, check)
	if err := check.Err(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg: c, log: env.Log, died: env.Fail, users: users,
		defender:    newDefender(c.Defender.Failures, c.Defender.Window.Duration, c.Defender.BlockFor.Duration),
		grace:       c.LoginGraceTime.Duration,
		idle:        c.IdleTimeout.Duration,
		conns:       map[net.Conn]struct{}{},
		slots:       make(chan struct{}, c.MaxConnections),
		startups:    connlimit.New(c.MaxStartups, c.PerSourceMaxStartups),
		failedConns: map[string]bool{},
		rsyncErr:    jail.RsyncSupport(),
	}
	for _, u := range users {
		if u.Rsync && s.rsyncErr != nil {
			s.log.Error("rsync is refused for this user", "event", "ssh.rsync_unavailable", "user", u.Name, "err", s.rsyncErr)
		}
	}
	var err error
	if s.metrics, err = newMetrics(env.Metrics); err != nil {
		return nil, err
	}
	if s.dummyHash, err = slowestHash(users, &s.failTimer); err != nil {
		return nil, err
	}
	keys, err := loadHostKeys(c.HostKeys, filepath.Join(env.Config.StateDir, "ssh"))
	if err != nil {
		return nil, err
	}
	s.sshCfg = s.serverConfig()
	for _, k := range keys {
		s.sshCfg.AddHostKey(k)
		s.log.Info("host key", "event", "ssh.host_key", "type", k.PublicKey().Type(), "fingerprint", ssh.FingerprintSHA256(k.PublicKey()))
	}
	if env.Fleet != nil {
		s.blocks = shareBlocks(env.Fleet, s.defender, env.Log)
	}
	return s, nil
}

// serverConfig offers modern algorithms only: no DSA, no SHA-1 key
// exchange, MAC or signature. The ciphers default to AES-GCM only (see
// config.SSH.Ciphers): the client's preference decides among the ciphers
// both sides know, and OpenSSH prefers chacha20-poly1305 (no amd64
// assembly in x/crypto: ~0.65 GB/s against ~5 GB/s for AES-GCM), then
// AES-CTR with a separate MAC, either of which would win over AES-GCM if
// offered. Every OpenSSH since 6.2 speaks AES-GCM.
func (s *Server) serverConfig() *ssh.ServerConfig {
	cfg := &ssh.ServerConfig{
		Config: ssh.Config{
			KeyExchanges: []string{ssh.KeyExchangeMLKEM768X25519, ssh.KeyExchangeCurve25519,
				ssh.KeyExchangeECDHP256, ssh.KeyExchangeECDHP384, ssh.KeyExchangeECDHP521, ssh.KeyExchangeDH16SHA512},
			Ciphers: s.cfg.Ciphers,
			MACs:    []string{ssh.HMACSHA256ETM, ssh.HMACSHA512ETM, ssh.HMACSHA256, ssh.HMACSHA512},
		},
		PublicKeyAuthAlgorithms: []string{ssh.KeyAlgoED25519, ssh.KeyAlgoSKED25519, ssh.KeyAlgoECDSA256,
			ssh.KeyAlgoSKECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSASHA512},
		MaxAuthTries:      s.cfg.MaxAuthTries,
		PasswordCallback:  s.password,
		PublicKeyCallback: s.publicKey,
		AuthLogCallback:   s.authLog,
		ServerVersion:     "SSH-2.0-bartleby",
	}
	return cfg
}

// Name is the part's name.
func (s *Server) Name() string { return "ssh" }

// Addrs lists the listener.
func (s *Server) Addrs() []string {
	if s.ln == nil {
		return nil
	}
	return []string{s.ln.Addr().String()}
}

// Start binds the listener and serves in the background.
func (s *Server) Start() error {
	for _, u := range s.cfg.Users {
		if err := os.MkdirAll(u.Root, 0o755); err != nil {
			return fmt.Errorf("root of %s: %w", u.Name, err)
		}
	}
	for _, u := range s.users {
		for _, m := range u.mounts {
			if m.ReadOnly {
				continue
			}
			if err := jail.PrepareDir(m.Dir, u.perms); err != nil {
				return fmt.Errorf("user %s: %w", u.Name, err)
			}
		}
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	s.ln = accept.Retry(ln, s.log, s.died)
	s.log.Info("listening", "event", "ssh.listening", "addr", ln.Addr().String(), "users", len(s.users))
	s.wg.Add(1)
	go s.serve()
	return nil
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
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
		select {
		case s.slots <- struct{}{}:
		default:
			s.metrics.refused.WithLabelValues("too_many").Inc()
			s.log.Warn("connection refused: max_connections reached", "event", "ssh.refused_busy", "addr", addr)
			c.Close()
			continue
		}
		if !s.startups.Take(addr) {
			<-s.slots
			s.metrics.refused.WithLabelValues("startups").Inc()
			c.Close()
			const why = "connection refused: too many connections not logged in (max_startups, per_source_max_startups)"
			if s.startups.Holds(addr) {
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
			defer func() { <-s.slots }()
			defer s.track(c, false)
			s.handle(c)
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
	if s.ln != nil {
		s.ln.Close()
	}
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
			Help: "SSH connections closed before the handshake, by reason."}, []string{"reason"}),
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
