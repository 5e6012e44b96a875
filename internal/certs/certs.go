// Package certs gives every part its TLS configuration: certificates from
// files, from an ACME CA through certmagic, or self-signed for the
// quickstart, and the CA pools clients verify peers with.
package certs

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"

	"bartleby/internal/config"
)

// Manager hands out server TLS configs; one per daemon, shared by the parts.
type Manager struct {
	cfg *config.Config
	log *slog.Logger
	dir string // state_dir/certs

	fileCheckEvery time.Duration // how often cert files are looked at

	mu      sync.Mutex
	tickets []*ticketKeys     // rotated until Close
	acme    *acmeState        // made by the first ACME source
	storage certmagic.Storage // where ACME state lives; files in state_dir by default
	served  []served          // for Certificates
	stop    chan struct{}
	closed  bool
	wg      sync.WaitGroup
}

// Source says where the certificate for a set of names comes from.
type Source struct {
	Names    []string // host names served (SNI); the first is the default
	CertFile string   // PEM files, re-read when they change
	KeyFile  string
	ACME     bool   // obtain and renew through [acme]
	Email    string // ACME account e-mail; [acme] email when empty
}

// New prepares certificate handling with its storage under state_dir.
func New(cfg *config.Config, log *slog.Logger) (*Manager, error) {
	dir := filepath.Join(cfg.StateDir, "certs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("certificate storage: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("certificate storage: %w", err)
	}
	m := &Manager{cfg: cfg, log: log, dir: dir, fileCheckEvery: fileCheckEvery, stop: make(chan struct{}),
		storage: &certmagic.FileStorage{Path: filepath.Join(dir, "acme")}}
	m.wg.Add(1)
	go m.rotateTickets()
	return m, nil
}

// ShareStorage keeps ACME accounts, certificates, locks and challenges in
// storage shared by a fleet instead of state_dir: one node orders, all
// serve, and any node answers a challenge. Call it before TLSConfig.
func (m *Manager) ShareStorage(storage certmagic.Storage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.storage = storage
}

// TLSConfig returns a server config that picks among sources by SNI: an
// exact name, then a "*.example.org" wildcard, then the first source.
// A source with neither files nor ACME gets a self-signed certificate.
//
// NextProtos offers h2 and http/1.1; callers may replace it. Session ticket
// keys are rotated by the Manager through the config's WrapSession and
// UnwrapSession, which survive Clone (http.Server.ServeTLS clones).
func (m *Manager) TLSConfig(sources ...Source) (*tls.Config, error) {
	if len(sources) == 0 {
		sources = []Source{{}}
	}
	sel := &selector{}
	acme := false
	for i, s := range sources {
		get, err := m.getter(s)
		if err != nil {
			return nil, fmt.Errorf("certificate %d (%s): %w", i+1, describe(s), err)
		}
		sel.add(s.Names, get)
		m.remember(s, get)
		acme = acme || s.ACME
	}
	tk, err := m.newTicketKeys()
	if err != nil {
		return nil, err
	}
	cfg := baseConfig()
	cfg.GetCertificate = sel.get
	if acme {
		cfg.GetCertificate = m.withChallenges(sel.get)
	}
	cfg.WrapSession = tk.wrap
	cfg.UnwrapSession = tk.unwrap
	if acme && m.challenge(config.ChallengeTLSALPN01) {
		cfg.NextProtos = append(cfg.NextProtos, acmeALPN)
	}
	return cfg, nil
}

// getter returns how to find the certificate of one source.
func (m *Manager) getter(s Source) (getCert, error) {
	switch {
	case s.ACME && (s.CertFile != "" || s.KeyFile != ""):
		return nil, fmt.Errorf("choose either ACME or cert/key files, not both")
	case s.CertFile != "" || s.KeyFile != "":
		return m.fileGetter(s.CertFile, s.KeyFile)
	case s.ACME:
		return m.acmeGetter(s.Names, s.Email)
	default:
		return m.selfSignedGetter(s.Names)
	}
}

func describe(s Source) string {
	if len(s.Names) == 0 {
		return "default"
	}
	return s.Names[0]
}

// withChallenges answers TLS-ALPN-01 validations before choosing a
// certificate.
func (m *Manager) withChallenges(get getCert) getCert {
	return func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if cert, ok, err := m.challengeCert(hello); ok {
			return cert, err
		}
		return get(hello)
	}
}

// Close stops renewals and ticket key rotation. Configs already handed out
// keep serving the certificates they have.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	close(m.stop)
	a := m.acme
	m.mu.Unlock()
	if a != nil {
		a.stop()
	}
	m.wg.Wait()
}
