package certs

import (
	"crypto/tls"
	"testing"
	"time"

	"bartleby/internal/certs/testca"
	"bartleby/internal/config"
	"bartleby/internal/testutil"
)

// TestHostSourceUsesTheSitesACME: the backup MX and the admin UI, named
// after the host, get the ACME certificate a web site manages for that
// name (the web front answers the challenges), from the same certmagic
// cache; a name no ACME site serves stays self-signed.
func TestHostSourceUsesTheSitesACME(t *testing.T) {
	t.Parallel()
	p := testca.StartPebble(t, testca.PebbleOptions{AlwaysValid: true})
	cfg := &config.Config{StateDir: t.TempDir(),
		ACME:  &config.ACME{Email: "ops@mx.test", Directory: p.Dir, CARoot: p.CAFile},
		Sites: []*config.Site{{Hosts: []string{"www.mx.test"}}, {Hosts: []string{"MX.test"}}, {Hosts: []string{"files.mx.test"}, Cert: "f.crt", Key: "f.key"}}}
	m, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for name, want := range map[string]bool{"mx.test": true, "files.mx.test": false, "other.test": false} {
		if got := m.HostSource([]string{name}, "", "").ACME; got != want {
			t.Errorf("%s: ACME %v, want %v", name, got, want)
		}
	}
	if m.HostSource([]string{"mx.test"}, "mx.crt", "mx.key").ACME {
		t.Error("cert and key files given, yet ACME")
	}
	tlsCfg, err := m.TLSConfig(m.HostSource([]string{"mx.test"}, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, tlsCfg)
	roots := p.Roots(t)
	testutil.Eventually(t, time.Minute, "a certificate from Pebble for mx.test", func() error {
		_, err := handshake(addr, &tls.Config{ServerName: "mx.test", RootCAs: roots})
		return err
	})
	// An MTA sending no SNI gets it too.
	if err := verifyChain(t, addr, "", roots).VerifyHostname("mx.test"); err != nil {
		t.Fatal(err)
	}
}
