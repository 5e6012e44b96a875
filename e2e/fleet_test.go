package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"bartleby/internal/certs/testca"
	"bartleby/internal/fleet/fleettest"
	"bartleby/internal/testutil"
)

// The failure table of README "Several hosts", case by case, with three
// real `bartleby serve` daemons (web1..web3) joined to a 3-member etcd
// cluster of the test's own (members are killed) on loopback.

// TestFleetMaintenanceFailures is cases (b) to (e): a switch typed on one
// node reaches the others on the wire; it still does with one etcd member
// down; without quorum the nodes keep serving, say DEGRADED and refuse a
// switch on every node; once the members are back the fleet converges.
func TestFleetMaintenanceFailures(t *testing.T) {
	t.Parallel()
	c := fleettest.Start(t, 3)
	nodes := fleettest.NewNodes(t, 3)
	c.StartNodes(t, fleettest.Prefix(t), fleettest.Shop, nodes...)
	a, b := nodes[0], nodes[1]
	waitServing(t, nodes, 200, fleettest.ShopBody)

	// (b) maint on via A: B and C answer 503 with the page and the message.
	fleetCLI(t, a, "maint", "on", fleettest.ShopHost, "--message", "Switched on web1.")
	waitServing(t, nodes, 503, "Switched on web1.")

	// (c) one member down: switches from B and C still reach every node.
	c.Kill(t, 0)
	fleetCLI(t, b, "maint", "off", fleettest.ShopHost)
	waitServing(t, nodes, 200, fleettest.ShopBody)
	fleetCLI(t, nodes[2], "maint", "on", fleettest.ShopHost, "--message", "One member down.")
	waitServing(t, nodes, 503, "One member down.")
	waitFleetStatus(t, nodes, "connected to etcd")
	if out := fleetCLI(t, b, "status", "--fleet"); strings.Count(out, "  up  ") != 3 {
		t.Errorf("with one member down, status --fleet does not list three nodes up:\n%s", out)
	}

	// (d) two members down, no quorum: DEGRADED, switches refused on
	// every node, the last state (503 and its message) still served.
	c.Kill(t, 1)
	waitFleetStatus(t, nodes, "DEGRADED, no etcd quorum")
	start := time.Now()
	out, err := a.Run("maint", "on", fleettest.ShopHost, "--message", "Typed without quorum.")
	t.Logf("without quorum, maint on answered in %s: %s", time.Since(start).Round(time.Millisecond), out)
	if err == nil || !strings.Contains(out, "fleet has no quorum: maintenance NOT switched on any node") {
		t.Fatalf("maint on without quorum: %v\n%s", err, out)
	}
	if out := fleetCLI(t, b, "status", "--fleet"); !strings.Contains(out, "the other nodes are unknown until etcd has a quorum again") {
		t.Errorf("without quorum, status --fleet does not say the node list is unknown:\n%s", out)
	}
	if out, err := b.Run("maint", "off", fleettest.ShopHost); err == nil || !strings.Contains(out, "fleet has no quorum") {
		t.Fatalf("maint off without quorum: %v\n%s", err, out)
	}
	for _, n := range nodes {
		if code, body, err := n.Get(fleettest.ShopHost, "/"); err != nil || code != 503 || !strings.Contains(body, "One member down.") {
			t.Errorf("%s after refused switches: %d %.200q %v, want the last state (503, One member down.)", n.Name, code, body, err)
		}
	}

	// (e) the members come back: connected again, and a switch from C
	// reaches all three.
	c.Restart(t, 0)
	c.Restart(t, 1)
	c.WaitHealthy(t)
	waitFleetStatus(t, nodes, "connected to etcd")
	fleetCLI(t, nodes[2], "maint", "off", fleettest.ShopHost)
	waitServing(t, nodes, 200, fleettest.ShopBody)
}

// acmeSite is site.test with a certificate from Pebble (%s: directory,
// CA of Pebble's listener).
const acmeSite = `
[acme]
email = "ops@site.test"
directory = %q
ca_root = %q
challenges = ["http-01"]
[[site]]
hosts = ["site.test"]
  [[site.route]]
  respond = "ok"
`

// TestFleetACMEOneOrder is case (a): three daemons serve site.test with
// [acme]; Pebble validates HTTP-01 on web1's port only (as when port 80
// reaches one node), whichever node orders. One order, one certificate
// served by all three.
func TestFleetACMEOneOrder(t *testing.T) {
	t.Parallel()
	c := fleettest.Start(t, 3)
	nodes := fleettest.NewNodes(t, 3)
	p := testca.StartPebble(t, testca.PebbleOptions{DNS: testca.StartDNS(t), HTTPPort: testca.Port(t, nodes[0].HTTP)})
	c.StartNodes(t, fleettest.Prefix(t), fmt.Sprintf(acmeSite, p.Dir, p.CAFile), nodes...)

	leaves := servedLeaves(t, p, nodes)
	for i, l := range leaves[1:] {
		if !l.Equal(leaves[0]) {
			t.Errorf("%s serves serial %s, web1 serial %s: not one shared certificate", nodes[i+1].Name, l.SerialNumber, leaves[0].SerialNumber)
		}
	}
	if n := p.Orders(t); n != 1 {
		t.Errorf("Pebble got %d orders for site.test from three daemons, want 1", n)
	}
}

// TestFleetACMELockHolderKilled is case (f): the daemon holding the
// certificate lock is killed (SIGKILL) while Pebble validates its order;
// another daemon takes the lock once its lease expires and obtains the
// certificate. Pebble's HTTP-01 connections go through a gate held
// closed until the kill, so the order is in flight when the holder dies.
func TestFleetACMELockHolderKilled(t *testing.T) {
	t.Parallel()
	c := fleettest.Start(t, 3)
	nodes := fleettest.NewNodes(t, 3)
	g := startGate(t)
	p := testca.StartPebble(t, testca.PebbleOptions{DNS: testca.StartDNS(t), HTTPPort: testca.Port(t, g.ln.Addr().String())})
	c.StartNodes(t, fleettest.Prefix(t), fmt.Sprintf(acmeSite, p.Dir, p.CAFile), nodes...)

	g.waitArrival(t)
	holder := lockHolder(t, nodes)
	holder.Signal(syscall.SIGKILL)
	<-holder.Exited()
	killed := time.Now()
	var rest []*fleettest.Node
	for _, n := range nodes {
		if n != holder {
			rest = append(rest, n)
		}
	}
	g.open(rest[0].HTTP)

	leaves := servedLeaves(t, p, rest)
	t.Logf("%s killed holding the lock; %s and %s served the certificate %s later; Pebble saw %d orders",
		holder.Name, rest[0].Name, rest[1].Name, time.Since(killed).Round(time.Second), p.Orders(t))
	if !leaves[1].Equal(leaves[0]) {
		t.Errorf("%s and %s serve different certificates", rest[0].Name, rest[1].Name)
	}
	if n := p.Issued(t); n != 1 {
		t.Errorf("Pebble issued %d certificates for site.test, want 1", n)
	}
	if !strings.Contains(rest[0].Logs()+rest[1].Logs(), `"lock acquired"`) {
		t.Errorf("no surviving node logged taking the lock")
	}
}

// lockHolder returns the one node that logged taking site.test's
// certificate lock (the line may reach the test's buffer late).
func lockHolder(t *testing.T, nodes []*fleettest.Node) *fleettest.Node {
	t.Helper()
	var holders []*fleettest.Node
	testutil.Eventually(t, 10*time.Second, "one node to log holding the certificate lock", func() error {
		holders = holders[:0]
		for _, n := range nodes {
			if slices.ContainsFunc(n.LogLines(), func(l string) bool {
				return strings.Contains(l, `"lock acquired"`) && strings.Contains(l, "site.test")
			}) {
				holders = append(holders, n)
			}
		}
		switch len(holders) {
		case 0:
			return errors.New("none did")
		case 1:
			return nil
		}
		t.Fatalf("%d nodes logged holding the certificate lock during one validation, want 1", len(holders))
		return nil
	})
	return holders[0]
}

// servedLeaves waits until every node serves site.test a certificate
// that verifies against Pebble's root, and returns them.
func servedLeaves(t *testing.T, p *testca.Pebble, nodes []*fleettest.Node) []*x509.Certificate {
	t.Helper()
	roots := p.Roots(t)
	leaves := make([]*x509.Certificate, len(nodes))
	for i, n := range nodes {
		testutil.Eventually(t, time.Minute, n.Name+" serving a certificate from Pebble", func() error {
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", n.HTTPS,
				&tls.Config{ServerName: "site.test", RootCAs: roots})
			if err != nil {
				return err
			}
			defer conn.Close()
			leaves[i] = conn.ConnectionState().PeerCertificates[0]
			return nil
		})
	}
	return leaves
}

// waitServing polls every node until it answers shop.test with code and
// a body containing want; generous deadline, no timing asserted.
func waitServing(t *testing.T, nodes []*fleettest.Node, code int, want string) {
	t.Helper()
	for _, n := range nodes {
		testutil.Eventually(t, 30*time.Second, fmt.Sprintf("%s to answer %d with %q", n.Name, code, want), func() error {
			c, body, err := n.Get(fleettest.ShopHost, "/")
			if err == nil && c == code && strings.Contains(body, want) {
				return nil
			}
			return fmt.Errorf("still %d %.200q %v", c, body, err)
		})
	}
}

// waitFleetStatus polls `bartleby status --fleet` on every node until its
// first line contains want.
func waitFleetStatus(t *testing.T, nodes []*fleettest.Node, want string) {
	t.Helper()
	for _, n := range nodes {
		testutil.Eventually(t, 30*time.Second, fmt.Sprintf("%s: status --fleet to say %q", n.Name, want), func() error {
			out, _ := n.Run("status", "--fleet")
			if first, _, _ := strings.Cut(out, "\n"); !strings.Contains(first, want) {
				return fmt.Errorf("still says\n%s", out)
			}
			return nil
		})
	}
}

// fleetCLI runs a bartleby command against node n, failing the test if
// it fails.
func fleetCLI(t *testing.T, n *fleettest.Node, args ...string) string {
	t.Helper()
	out, err := n.Run(args...)
	if err != nil {
		t.Fatalf("%s: bartleby %v: %v\n%s", n.Name, args, err, out)
	}
	return out
}

// gate is a TCP relay for Pebble's HTTP-01 connections: it holds each
// connection until opened, then relays it to the target.
type gate struct {
	ln      net.Listener
	arrived chan struct{} // closed at the first connection
	opened  chan struct{} // closed by open
	target  string
}

func startGate(t *testing.T) *gate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{ln: ln, arrived: make(chan struct{}), opened: make(chan struct{})}
	t.Cleanup(func() { ln.Close() })
	go g.serve()
	return g
}

func (g *gate) serve() {
	var once sync.Once
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		once.Do(func() { close(g.arrived) })
		go g.relay(c)
	}
}

// relay waits for the gate to open (a minute at most) and then copies
// between c and the target.
func (g *gate) relay(c net.Conn) {
	defer c.Close()
	select {
	case <-g.opened:
	case <-time.After(time.Minute):
		return
	}
	up, err := net.DialTimeout("tcp", g.target, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	deadline := time.Now().Add(30 * time.Second)
	c.SetDeadline(deadline)
	up.SetDeadline(deadline)
	go io.Copy(up, c)
	io.Copy(c, up)
}

// waitArrival waits until Pebble connects to validate a challenge.
func (g *gate) waitArrival(t *testing.T) {
	t.Helper()
	select {
	case <-g.arrived:
	case <-time.After(time.Minute):
		t.Fatal("Pebble never came to validate HTTP-01")
	}
}

// open relays the held and later connections to target.
func (g *gate) open(target string) {
	g.target = target
	close(g.opened)
}
