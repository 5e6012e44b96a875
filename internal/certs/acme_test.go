package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"bartleby/internal/certs/testca"
	"bartleby/internal/config"
	"bartleby/internal/testutil"
)

// verifyChain checks that the chain served for name leads to roots.
func verifyChain(t *testing.T, addr, name string, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: name, InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	chain := c.ConnectionState().PeerCertificates
	inter := x509.NewCertPool()
	for _, cert := range chain[1:] {
		inter.AddCert(cert)
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter}); err != nil {
		t.Fatalf("the certificate served for %s does not chain to Pebble's root: %v", name, err)
	}
	return chain[0]
}

func TestACMEPebble(t *testing.T) {
	t.Parallel()
	p := testca.StartPebble(t, testca.PebbleOptions{AlwaysValid: true})
	state := t.TempDir()
	cfg := &config.Config{StateDir: state, ACME: &config.ACME{
		Email: "ops@site.test", Directory: p.Dir, CARoot: p.CAFile,
	}}
	m, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tlsCfg, err := m.TLSConfig(Source{Names: []string{"site.test", "www.site.test"}, ACME: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(tlsCfg.NextProtos, acmeALPN) || !slices.Contains(tlsCfg.NextProtos, "h2") {
		t.Errorf("NextProtos %q, want h2 and %s", tlsCfg.NextProtos, acmeALPN)
	}
	addr := serve(t, tlsCfg)
	roots := p.Roots(t)
	for _, name := range []string{"site.test", "www.site.test"} {
		testutil.Eventually(t, time.Minute, "a certificate from Pebble for "+name, func() error {
			_, err := handshake(addr, &tls.Config{ServerName: name, RootCAs: roots})
			return err
		})
	}
	leaf := verifyChain(t, addr, "site.test", roots)
	www := verifyChain(t, addr, "www.site.test", roots)
	// certmagic manages each name on its own: one certificate per name.
	if exp := m.Expiry(); len(exp) != 2 || !exp["site.test"].Equal(leaf.NotAfter) || !exp["www.site.test"].Equal(www.NotAfter) {
		t.Errorf("expiry %v, want site.test at %s, www.site.test at %s", exp, leaf.NotAfter, www.NotAfter)
	}
	// An unknown name gets the first name's certificate, not an error.
	if got := peek(t, addr, "other.test"); !got.Equal(leaf) {
		t.Errorf("an unknown name got %v, want the first name's certificate", got.DNSNames)
	}
	// On-demand issuance is off: no certificate for a name not configured.
	if got, _ := filepath.Glob(filepath.Join(state, "certs", "acme", "certificates", "*", "other.test")); len(got) > 0 {
		t.Errorf("a certificate for other.test was obtained: %v", got)
	}
	m.Close()

	// The certificate is kept in state_dir: a new Manager serves it with
	// Pebble gone.
	p.Stop()
	again, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	tlsCfg, err = again.TLSConfig(Source{Names: []string{"site.test", "www.site.test"}, ACME: true})
	if err != nil {
		t.Fatal(err)
	}
	addr = serve(t, tlsCfg)
	testutil.Eventually(t, time.Minute, "the stored certificate", func() error {
		got, err := handshake(addr, &tls.Config{ServerName: "site.test", RootCAs: roots})
		if err == nil && !got.Equal(leaf) {
			return errors.New("a different certificate")
		}
		return err
	})
}

// TestACMEChallenges lets Pebble really validate: it resolves the names
// through pebble-challtestsrv's DNS (everything is 127.0.0.1) and connects
// to our HTTP listener (HTTPChallenge) or our TLS listener (acme-tls/1).
func TestACMEChallenges(t *testing.T) {
	t.Parallel()
	for _, ch := range []string{config.ChallengeHTTP01, config.ChallengeTLSALPN01} {
		t.Run(ch, func(t *testing.T) {
			t.Parallel()
			httpPort, tlsPort := testca.FreePort(t), testca.FreePort(t)
			httpAddr, tlsAddr := fmt.Sprintf("127.0.0.1:%d", httpPort), fmt.Sprintf("127.0.0.1:%d", tlsPort)
			p := testca.StartPebble(t, testca.PebbleOptions{DNS: testca.StartDNS(t), HTTPPort: httpPort, TLSPort: tlsPort})
			m, err := New(&config.Config{StateDir: t.TempDir(), ACME: &config.ACME{
				Directory: p.Dir, CARoot: p.CAFile, Challenges: []string{ch},
			}}, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(m.Close)
			name := "site.test"
			tlsCfg, err := m.TLSConfig(Source{Names: []string{name}, ACME: true})
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(tlsCfg.NextProtos, acmeALPN); got != (ch == config.ChallengeTLSALPN01) {
				t.Errorf("NextProtos %q with challenges [%s]", tlsCfg.NextProtos, ch)
			}
			ln, err := tls.Listen("tcp", tlsAddr, tlsCfg)
			if err != nil {
				t.Fatal(err)
			}
			httpLn, err := net.Listen("tcp", httpAddr)
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: m.HTTPChallenge(http.NotFoundHandler()), ReadHeaderTimeout: 10 * time.Second,
				ErrorLog: log.New(io.Discard, "", 0)} // handshakes fail until the certificate comes
			go srv.Serve(httpLn)
			go srv.Serve(ln)
			t.Cleanup(func() { srv.Close() })

			roots := p.Roots(t)
			testutil.Eventually(t, time.Minute, "a certificate validated by "+ch, func() error {
				_, err := handshake(tlsAddr, &tls.Config{ServerName: name, RootCAs: roots})
				return err
			})
			verifyChain(t, tlsAddr, name, roots)

			// Other requests pass through HTTPChallenge to the handler.
			resp, err := http.Get("http://" + httpAddr + "/.well-known/acme-challenge/unknown")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("an unknown challenge token: %s, want the next handler's 404", resp.Status)
			}
		})
	}
}
