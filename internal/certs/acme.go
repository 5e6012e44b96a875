package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/caddyserver/certmagic"

	"bartleby/internal/accept"
	"bartleby/internal/certs/capool"
	"bartleby/internal/config"
)

// RenewCheckInterval is how often certmagic looks at the certificates it
// manages for one due for renewal (or renewed by another node of a fleet).
// A variable so that tests with certificates valid for seconds can make it
// a second; certmagic treats a certificate expiring within five intervals
// as due at once, so the default suits certificates of a day or more.
var RenewCheckInterval = certmagic.DefaultRenewCheckInterval

// acmeState is the certmagic side of a Manager, made by the first ACME
// source: one cache, and one certmagic config per account e-mail.
type acmeState struct {
	cache  *certmagic.Cache
	roots  *x509.CertPool // trusted for the ACME server; nil: system
	park   net.Listener
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	configs map[string]*certmagic.Config // by account e-mail
	byName  map[string]*certmagic.Config // managed name → its config
	first   *certmagic.Config            // answers TLS-ALPN-01 for all
	issuer  *certmagic.ACMEIssuer        // answers HTTP-01 for all
	// failures are the last failed obtain or renewal per managed name.
	failures map[string]ACMEFailure
}

// acmeGetter manages names through certmagic: obtained in the background
// (handshakes for them fail until the first certificate arrives), renewed
// until Close, kept in state_dir/certs/acme. Only these names get
// certificates: on-demand issuance is off.
func (m *Manager) acmeGetter(names []string, email string) (getCert, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("ACME needs at least one host name")
	}
	names = lower(names)
	for _, n := range names {
		if strings.Contains(n, "*") {
			return nil, fmt.Errorf("%s: a wildcard certificate needs the DNS-01 challenge, which bartleby does not do; use cert and key files", n)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("certificate manager closed")
	}
	a, err := m.startACME()
	if err != nil {
		return nil, err
	}
	magic := a.config(m, email, names)
	if err := magic.ManageAsync(a.ctx, names); err != nil {
		return nil, fmt.Errorf("ACME for %s: %w", strings.Join(names, ", "), err)
	}
	return func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if !slices.Contains(names, strings.ToLower(hello.ServerName)) {
			// The selector's default: serve the first name's certificate.
			h := *hello
			h.ServerName = names[0]
			hello = &h
		}
		return magic.GetCertificate(hello)
	}, nil
}

// startACME returns m.acme, making it on first use. m.mu is held.
func (m *Manager) startACME() (*acmeState, error) {
	if m.acme != nil {
		return m.acme, nil
	}
	a := &acmeState{configs: map[string]*certmagic.Config{}, byName: map[string]*certmagic.Config{}, failures: map[string]ACMEFailure{}}
	if ac := m.cfg.ACME; ac != nil && ac.CARoot != "" {
		roots, err := capool.Load(ac.CARoot)
		if err != nil {
			return nil, fmt.Errorf("acme.ca_root: %w", err)
		}
		a.roots = roots
	}
	park, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("ACME: %w", err)
	}
	park = accept.Retry(park, m.log, func(err error) {
		m.log.Error("ACME: the parked port stopped; certmagic may try to bind its own", "event", "certs.acme_park_failed", "error", err)
	})
	go drain(park)
	a.park = park
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   a.configFor,
		RenewCheckInterval: RenewCheckInterval,
		Logger:             zapLogger(m.log),
	})
	m.acme = a
	return a, nil
}

// config returns the certmagic config of one ACME account and records
// that it manages names.
func (a *acmeState) config(m *Manager, email string, names []string) *certmagic.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	magic := a.account(m, email)
	for _, n := range names {
		a.byName[n] = magic
	}
	return magic
}

// account finds or makes the config of an account e-mail. a.mu is held.
func (a *acmeState) account(m *Manager, email string) *certmagic.Config {
	ac := m.cfg.ACME
	if ac == nil {
		ac = &config.ACME{Directory: config.LetsEncrypt}
	}
	if email == "" {
		email = ac.Email
	}
	if magic, ok := a.configs[email]; ok {
		return magic
	}
	log := zapLogger(m.log)
	magic := certmagic.New(a.cache, certmagic.Config{
		Storage: m.storage,
		OCSP:    certmagic.OCSPConfig{DisableStapling: true},
		Logger:  log,
		OnEvent: a.onEvent,
	})
	port := a.park.Addr().(*net.TCPAddr).Port
	issuer := certmagic.NewACMEIssuer(magic, certmagic.ACMEIssuer{
		CA:           ac.Directory,
		Email:        email,
		Agreed:       true,
		TrustedRoots: a.roots,
		// certmagic serves challenges itself on ports 80 and 443 when
		// they are free, which could race the web part for them.
		// bartleby's own listeners answer (HTTPChallenge, GetCertificate):
		// give certmagic a loopback port we hold, it sees it taken and
		// stands aside.
		ListenHost:     "127.0.0.1",
		AltHTTPPort:    port,
		AltTLSALPNPort: port,
		Logger:         log,

		DisableHTTPChallenge:    !m.challenge(config.ChallengeHTTP01),
		DisableTLSALPNChallenge: !m.challenge(config.ChallengeTLSALPN01),
	})
	magic.Issuers = []certmagic.Issuer{issuer}
	a.configs[email] = magic
	if a.first == nil {
		a.first, a.issuer = magic, issuer
	}
	return magic
}

// challenge says whether the CA may validate with challenge type ch.
func (m *Manager) challenge(ch string) bool {
	return m.cfg.ACME == nil || m.cfg.ACME.Challenges == nil || slices.Contains(m.cfg.ACME.Challenges, ch)
}

// configFor tells the cache which config renews a certificate.
func (a *acmeState) configFor(c certmagic.Certificate) (*certmagic.Config, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, n := range c.Names {
		if magic, ok := a.byName[n]; ok {
			return magic, nil
		}
	}
	if a.first == nil {
		return nil, fmt.Errorf("no ACME config for %v", c.Names)
	}
	return a.first, nil
}

// drain accepts and closes whatever connects to the parked port (only
// certmagic checking that it is taken) until it is closed.
func drain(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

// challengeCert answers a TLS-ALPN-01 validation (RFC 8737: the hello
// offers "acme-tls/1" only) and says whether hello was one. certmagic
// keeps the challenges of all its configs together, so any config serves.
func (m *Manager) challengeCert(hello *tls.ClientHelloInfo) (*tls.Certificate, bool, error) {
	if len(hello.SupportedProtos) != 1 || hello.SupportedProtos[0] != acmeALPN {
		return nil, false, nil
	}
	a := m.acmeOrNil()
	if a == nil {
		return nil, true, fmt.Errorf("TLS-ALPN challenge for %q but ACME is off", hello.ServerName)
	}
	a.mu.Lock()
	magic := a.first
	a.mu.Unlock()
	cert, err := magic.GetCertificate(hello)
	return cert, true, err
}

func (m *Manager) acmeOrNil() *acmeState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.acme
}

// HTTPChallenge answers ACME HTTP-01 challenges and passes other requests
// to next.
func (m *Manager) HTTPChallenge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := m.acmeOrNil(); a != nil && a.httpIssuer().HandleHTTPChallenge(w, r) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *acmeState) httpIssuer() *certmagic.ACMEIssuer {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.issuer
}

func (a *acmeState) stop() {
	a.cancel()
	a.cache.Stop()
	a.park.Close()
}

func lower(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(strings.TrimSuffix(n, "."))
	}
	return out
}

// HostSource is the certificate source of a service named after the host
// (the backup MX's STARTTLS, the admin UI): the files when given, else ACME
// when a web site already manages the name through [acme] — the web
// front's HTTP and HTTPS listeners answer the CA's challenges for it, and
// certmagic's one cache serves both — else self-signed. Without such a
// site nothing could answer HTTP-01 (port 80) or TLS-ALPN-01 (port 443),
// so the name stays self-signed.
func (m *Manager) HostSource(names []string, certFile, keyFile string) Source {
	s := Source{Names: names, CertFile: certFile, KeyFile: keyFile}
	if certFile == "" && keyFile == "" && len(names) > 0 {
		s.ACME = m.siteACME(names[0])
	}
	return s
}

// siteACME reports whether a web site gets name's certificate from ACME.
func (m *Manager) siteACME(name string) bool {
	if m.cfg.ACME == nil {
		return false
	}
	for _, sc := range m.cfg.Sites {
		if sc.Cert != "" || sc.HTTPS == "off" {
			continue
		}
		for _, h := range sc.Hosts {
			if strings.EqualFold(h, name) {
				return true
			}
		}
	}
	return false
}
