package fleet_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"bartleby/internal/certs"
	"bartleby/internal/certs/testca"
	"bartleby/internal/config"
	"bartleby/internal/fleet/fleettest"
)

// TestACMEThreeNodesOneOrder is case (a) of the failure table: three
// nodes sharing the fleet's certificate storage ask Pebble for the same
// name at once. Pebble really validates HTTP-01, and only node 0 gets the
// CA's connections (as when port 80 reaches one node), so whichever node
// wins the lock and orders, node 0 answers from the challenge kept in
// etcd. One order is placed and all three serve its certificate.
func TestACMEThreeNodesOneOrder(t *testing.T) {
	c := fleettest.Shared(t)
	prefix := fleettest.Prefix(t)
	httpPort := testca.FreePort(t)
	p := testca.StartPebble(t, testca.PebbleOptions{DNS: testca.StartDNS(t), HTTPPort: httpPort})
	const name = "site.test"
	cfg := &config.Config{ACME: &config.ACME{
		Email: "ops@site.test", Directory: p.Dir, CARoot: p.CAFile, Challenges: []string{config.ChallengeHTTP01},
	}}

	managers := make([]*certs.Manager, 3)
	tlsConfigs := make([]*tls.Config, 3)
	for i := range managers {
		node := *cfg
		node.StateDir = t.TempDir()
		m, err := certs.New(&node, discard)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		m.ShareStorage(c.Connect(t, fmt.Sprintf("web%d", i+1), prefix).CertStorage())
		managers[i] = m
	}
	serveHTTP(t, fmt.Sprintf("127.0.0.1:%d", httpPort), managers[0].HTTPChallenge(http.NotFoundHandler()))

	// The three ask at the same moment.
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, m := range managers {
		wg.Go(func() { tlsConfigs[i], errs[i] = m.TLSConfig(certs.Source{Names: []string{name}, ACME: true}) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}

	roots := p.Roots(t)
	leaves := make([]*x509.Certificate, 3)
	for i, cfg := range tlsConfigs {
		addr := serveTLS(t, cfg)
		testca.WaitFor(t, fmt.Sprintf("node %d serving a certificate from Pebble", i), func() error {
			var err error
			leaves[i], err = leaf(addr, &tls.Config{ServerName: name, RootCAs: roots})
			return err
		})
	}
	for i, l := range leaves[1:] {
		if !l.Equal(leaves[0]) {
			t.Errorf("node %d serves serial %s, node 0 serial %s: not one shared certificate", i+1, l.SerialNumber, leaves[0].SerialNumber)
		}
	}
	if n := p.Orders(t); n != 1 {
		t.Errorf("Pebble got %d orders for %s from three nodes, want 1", n, name)
	}
}

// serveHTTP serves h on addr until the test ends.
func serveHTTP(t *testing.T, addr string, h http.Handler) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// serveTLS completes TLS handshakes with cfg on a loopback port until the
// test ends; handshakes fail until a certificate is there.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// leaf returns the verified certificate served at addr.
func leaf(addr string, cfg *tls.Config) (*x509.Certificate, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}
