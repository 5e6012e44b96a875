package fleet_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"bartleby/internal/certs"
	"bartleby/internal/certs/testca"
	"bartleby/internal/config"
	"bartleby/internal/fleet/fleettest"
	"bartleby/internal/testutil"
)

// TestACMEThreeNodesOneOrder is case (a) of the failure table: three
// nodes sharing the fleet's certificate storage ask Pebble for the same
// name at once. Pebble really validates HTTP-01, and only node 1 gets the
// CA's connections (as when port 80 reaches one node). One order is placed
// and all three serve its certificate. (The three are in one process,
// where certmagic answers a challenge of any of them from memory: that a
// node answers one it did not order, from etcd, is
// TestACMEChallengeAnsweredByAnotherNode's.)
func TestACMEThreeNodesOneOrder(t *testing.T) {
	a := startACMEFleet(t, config.ChallengeHTTP01, 0)
	managers := make([]*certs.Manager, 3)
	for i := range managers {
		managers[i] = a.manager(t, fmt.Sprintf("web%d", i+1), discard)
	}
	serveHTTP(t, a.httpAddr, managers[0].HTTPChallenge(http.NotFoundHandler()))

	// The three ask at the same moment.
	var wg sync.WaitGroup
	tlsConfigs := make([]*tls.Config, 3)
	errs := make([]error, 3)
	for i, m := range managers {
		wg.Go(func() { tlsConfigs[i], errs[i] = m.TLSConfig(acmeSource) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	addrs := make([]string, 3)
	for i, cfg := range tlsConfigs {
		addrs[i] = serveTLS(t, "127.0.0.1:0", cfg)
	}
	sameCertificate(t, a.served(t, addrs, nil))
	if n := a.pebble.Orders(t); n != 1 {
		t.Errorf("Pebble got %d orders for %s from three nodes, want 1", n, acmeName)
	}
}

// TestACMEChallengeAnsweredByAnotherNode: for each challenge type alone,
// node 2 (a process of its own) orders while Pebble's validation reaches
// node 1, which answers from what node 2 put in etcd. Which node orders is
// set by the lock certmagic takes for the name: the test holds it while
// the nodes queue for it, and etcd grants a lock to its waiters in the
// order they came.
func TestACMEChallengeAnsweredByAnotherNode(t *testing.T) {
	for _, ch := range []string{config.ChallengeHTTP01, config.ChallengeTLSALPN01} {
		t.Run(ch, func(t *testing.T) { answeredByAnotherNode(t, ch) })
	}
}

func answeredByAnotherNode(t *testing.T, challenge string) {
	a := startACMEFleet(t, challenge, 0)
	ctx := context.Background()
	holder := a.c.Connect(t, "test", a.prefix).CertStorage()
	const lock = "issue_cert_" + acmeName // certmagic's name for it
	if err := holder.Lock(ctx, lock); err != nil {
		t.Fatal(err)
	}
	addrs := make([]string, 3)
	var orderer string
	addrs[1], orderer = a.spawn(t, "web2")
	a.waitLockQueue(t, lock, 2)

	logFile := filepath.Join(t.TempDir(), "web1.log")
	out, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	m := a.manager(t, "web1", slog.New(slog.NewTextHandler(out, nil)))
	serveHTTP(t, a.httpAddr, m.HTTPChallenge(http.NotFoundHandler()))
	cfg, err := m.TLSConfig(acmeSource)
	if err != nil {
		t.Fatal(err)
	}
	addrs[0] = serveTLS(t, a.tlsAddr, cfg)
	a.waitLockQueue(t, lock, 3)
	addrs[2], _ = a.spawn(t, "web3")
	a.waitLockQueue(t, lock, 4)
	if err := holder.Unlock(ctx, lock); err != nil {
		t.Fatal(err)
	}

	sameCertificate(t, a.served(t, addrs, nil))
	if n := a.pebble.Orders(t); n != 1 {
		t.Errorf("Pebble got %d orders for %s from three nodes, want 1", n, acmeName)
	}
	if !logged(t, orderer, "certificate obtained successfully") {
		t.Error("node 2, first in the lock's queue, did not obtain the certificate")
	}
	// certmagic's message for both challenge types.
	if !logged(t, logFile, `msg="served key authentication`, "challenge="+challenge, "distributed=true") {
		t.Errorf("node 1 did not answer the %s challenge from the fleet's storage", challenge)
	}
}

// TestACMERenewedOnce: three nodes, each a process of its own, hold a
// certificate Pebble made valid for 30 s. certmagic renews in the last
// third of a lifetime and the nodes look every second: one renewal order
// reaches Pebble and the three serve the renewed certificate, 20 s before
// that one is due in turn.
func TestACMERenewedOnce(t *testing.T) {
	a := startACMEFleet(t, config.ChallengeHTTP01, 30*time.Second)
	m := a.manager(t, "web1", discard)
	serveHTTP(t, a.httpAddr, m.HTTPChallenge(http.NotFoundHandler()))
	cfg, err := m.TLSConfig(acmeSource)
	if err != nil {
		t.Fatal(err)
	}
	addrs := []string{serveTLS(t, a.tlsAddr, cfg), "", ""}
	addrs[1], _ = a.spawn(t, "web2")
	addrs[2], _ = a.spawn(t, "web3")
	first := a.served(t, addrs, nil)
	sameCertificate(t, first)

	renewed := a.served(t, addrs, func(c *x509.Certificate) error {
		if c.Equal(first[0]) {
			return fmt.Errorf("still the first certificate, valid until %s", c.NotAfter.Format(time.TimeOnly))
		}
		return nil
	})
	sameCertificate(t, renewed)
	if n := a.pebble.Orders(t); n != 2 {
		t.Errorf("Pebble got %d orders for %s from three nodes, want 2: the first and one renewal", n, acmeName)
	}
}

const acmeName = "site.test"

// acmeSource is the one name every node of an acmeFleet serves.
var acmeSource = certs.Source{Names: []string{acmeName}, ACME: true}

// acmeFleet is a Pebble that really validates, resolving names through
// pebble-challtestsrv and connecting to node 1's listeners only (as when
// ports 80 and 443 reach one node), and the etcd prefix of the fleet whose
// nodes ask it for acmeName.
type acmeFleet struct {
	c                 *fleettest.Cluster
	prefix            string
	pebble            *testca.Pebble
	acme              config.ACME
	httpAddr, tlsAddr string // where Pebble validates HTTP-01 and TLS-ALPN-01
}

// startACMEFleet lets Pebble validate challenge only, issuing certificates
// valid for validity (Pebble's default when 0).
func startACMEFleet(t *testing.T, challenge string, validity time.Duration) *acmeFleet {
	t.Helper()
	httpPort, tlsPort := testca.FreePort(t), testca.FreePort(t)
	p := testca.StartPebble(t, testca.PebbleOptions{
		DNS: testca.StartDNS(t), HTTPPort: httpPort, TLSPort: tlsPort, CertValidity: validity,
	})
	return &acmeFleet{
		c: fleettest.Shared(t), prefix: fleettest.Prefix(t), pebble: p,
		acme:     config.ACME{Email: "ops@site.test", Directory: p.Dir, CARoot: p.CAFile, Challenges: []string{challenge}},
		httpAddr: fmt.Sprintf("127.0.0.1:%d", httpPort),
		tlsAddr:  fmt.Sprintf("127.0.0.1:%d", tlsPort),
	}
}

// manager makes node's certificate manager in this process, on the
// fleet's storage.
func (a *acmeFleet) manager(t *testing.T, node string, log *slog.Logger) *certs.Manager {
	t.Helper()
	m, err := certs.New(&config.Config{StateDir: t.TempDir(), ACME: &a.acme}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	m.ShareStorage(a.c.Connect(t, node, a.prefix).CertStorage())
	return m
}

// spawn runs node as a process of its own (spawnNode) asking for acmeName
// at once, and returns where it serves it and its log file.
func (a *acmeFleet) spawn(t *testing.T, node string) (addr, logFile string) {
	t.Helper()
	return spawnNode(t, acmeNode{Fleet: *a.c.Config(node, a.prefix), ACME: a.acme, Name: acmeName})
}

// waitLockQueue waits until n holders and waiters queue for the
// fleet-wide lock name (etcd keeps one key for each).
func (a *acmeFleet) waitLockQueue(t *testing.T, name string, n int64) {
	t.Helper()
	cli := a.c.Connect(t, "queue", a.prefix)
	testutil.Eventually(t, time.Minute, fmt.Sprintf("%d in the queue of lock %s", n, name), func() error {
		resp, err := cli.Client().Get(context.Background(), cli.Prefix("locks")+name+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err == nil && resp.Count != n {
			err = fmt.Errorf("%d", resp.Count)
		}
		return err
	})
}

// served waits until each of addrs serves a certificate for acmeName that
// Pebble issued and accept (if not nil) takes, and returns them.
func (a *acmeFleet) served(t *testing.T, addrs []string, accept func(*x509.Certificate) error) []*x509.Certificate {
	t.Helper()
	roots := a.pebble.Roots(t)
	leaves := make([]*x509.Certificate, len(addrs))
	for i, addr := range addrs {
		testutil.Eventually(t, time.Minute, fmt.Sprintf("node %d serving a certificate from Pebble", i+1), func() error {
			var err error
			leaves[i], err = leaf(addr, &tls.Config{ServerName: acmeName, RootCAs: roots})
			if err == nil && accept != nil {
				err = accept(leaves[i])
			}
			return err
		})
	}
	return leaves
}

// sameCertificate fails the test unless the nodes serve one certificate.
func sameCertificate(t *testing.T, leaves []*x509.Certificate) {
	t.Helper()
	for i, l := range leaves[1:] {
		if !l.Equal(leaves[0]) {
			t.Errorf("node %d serves serial %s, node 1 serial %s: not one shared certificate", i+2, l.SerialNumber, leaves[0].SerialNumber)
		}
	}
}

// logged says whether a line of the log file has all of parts.
func logged(t *testing.T, file string, parts ...string) bool {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
lines:
	for sc.Scan() {
		for _, p := range parts {
			if !strings.Contains(sc.Text(), p) {
				continue lines
			}
		}
		return true
	}
	return false
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

// serveTLS completes TLS handshakes with cfg on addr until the test ends,
// and returns the address; handshakes fail until a certificate is there.
func serveTLS(t *testing.T, addr string, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", addr, cfg)
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
