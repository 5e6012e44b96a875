package maint

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"bartleby/internal/fleet"
	"bartleby/internal/fleet/fleettest"
)

// node is one bartleby node's maintenance switch, joined to a fleet.
type node struct {
	*fixture
	f *fleet.Fleet
}

func TestMain(m *testing.M) { os.Exit(fleettest.Main(m)) }

func joinNodes(t *testing.T, c *fleettest.Cluster, names ...string) []*node {
	t.Helper()
	prefix := fleettest.Prefix(t)
	var out []*node
	for _, name := range names {
		out = append(out, joinNode(t, c, prefix, name, basicConf))
	}
	return out
}

func joinNode(t *testing.T, c *fleettest.Cluster, prefix, name, conf string) *node {
	n := &node{fixture: newFixture(t, conf), f: c.Connect(t, name, prefix)}
	n.m.Share(n.f)
	t.Cleanup(n.m.Unshare)
	return n
}

// token waits for the node to know the site's bypass token, from its own
// file or from the fleet; the test's timeout bounds it.
func (n *node) token(site string) string {
	for start := time.Now(); time.Since(start) < 30*time.Second; {
		n.m.mu.Lock()
		tok, shared := n.m.snap.Load().sites[site].cfg.token, n.m.fleet != nil
		n.m.mu.Unlock()
		if tok != "" && shared {
			return tok
		}
		time.Sleep(10 * time.Millisecond)
	}
	n.t.Fatalf("%s: no bypass token from the fleet after 30s", site)
	return ""
}

// TestFleetBypass: the bypass secret file is on node A only; B learns the
// token through etcd, and a cookie set by either node passes on the other.
// The cookie key is the fleet's, not derived from the token.
func TestFleetBypass(t *testing.T) {
	c := fleettest.Shared(t)
	prefix := fleettest.Prefix(t)
	a := joinNode(t, c, prefix, "a", basicConf)
	b := joinNode(t, c, prefix, "b", strings.Replace(basicConf, `bypass_secret_file = "bypass.secret"`, "", 1))
	if tok := b.token("example.org"); tok != testToken {
		t.Fatalf("b's token = %q, want a's", tok)
	}
	a.token("example.org")
	a.on("example.org", time.Time{})
	b.waitOn("example.org", true)
	for _, pair := range [][2]*node{{a, b}, {b, a}} {
		cookie := pair[0].bypassCookie()
		if w := pair[1].do("GET", "/", "198.51.100.7:1", "Cookie", cookie.String()); w.Code != http.StatusOK {
			t.Fatalf("a cookie from one node is refused by the other: %d", w.Code)
		}
	}
	if key := a.m.snap.Load().sites["example.org"].cfg.cookieKey; bytes.Equal(key, deriveKey(testToken)) {
		t.Fatal("the cookie key is derived from the token alone: whoever has the URL can forge cookies")
	}
	// A node of another fleet (another prefix, same token) refuses it.
	other := joinNode(t, c, fleettest.Prefix(t), "z", basicConf)
	other.token("example.org")
	other.on("example.org", time.Time{})
	if w := other.do("GET", "/", "198.51.100.7:1", "Cookie", a.bypassCookie().String()); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("another fleet's cookie: %d", w.Code)
	}
}

// waitOn waits for the watch to bring the site's state to on; the test's
// own timeout bounds it.
func (n *node) waitOn(site string, on bool) {
	for {
		ch := n.m.Changed()
		if n.siteOn(site) == on {
			return
		}
		<-ch
	}
}

func (n *node) siteOn(site string) bool {
	for _, s := range n.m.Status() {
		if s.Site == site {
			return s.On
		}
	}
	n.t.Fatalf("no site %s", site)
	return false
}

func (n *node) serves() int {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "http://example.org/", nil)
	req.RemoteAddr = "198.51.100.7:4321" // not in the site's allowlist
	n.h.ServeHTTP(rec, req)
	return rec.Code
}

// TestFleetMaintenance runs the failure cases of issue 17 on one
// three-member etcd cluster: (b) a switch on A reaches B and C through the
// watch; (c) with one member killed switches still work; (d) with two
// killed the nodes keep serving the last known state, say they are
// degraded, and maint on is refused; (e) restored, the nodes converge.
func TestFleetMaintenance(t *testing.T) {
	c := fleettest.Start(t, 3)
	nodes := joinNodes(t, c, "a", "b", "c")
	a, b, cc := nodes[0], nodes[1], nodes[2]

	// (b)
	if _, err := a.m.On(Mode{Site: "example.org", Who: "ops"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		n.waitOn("example.org", true)
		if code := n.serves(); code != http.StatusServiceUnavailable {
			t.Fatalf("node serves %d during maintenance", code)
		}
	}

	// (c)
	c.Kill(t, 0)
	if err := b.m.Off("example.org", "ops"); err != nil {
		t.Fatalf("maint off with one member down: %v", err)
	}
	for _, n := range nodes {
		n.waitOn("example.org", false)
	}

	// (d)
	if _, err := a.m.On(Mode{Site: "example.org", Who: "ops"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		n.waitOn("example.org", true)
	}
	c.Kill(t, 1)
	for _, n := range nodes {
		for n.f.Health().OK {
			<-n.f.HealthChanged()
		}
		if code := n.serves(); code != http.StatusServiceUnavailable {
			t.Fatalf("cut off, a node serves %d instead of the last known state (503)", code)
		}
	}
	if err := cc.m.Off("example.org", "ops"); !errors.Is(err, ErrNoQuorum) {
		t.Fatalf("maint off without quorum: %v, want ErrNoQuorum", err)
	}
	if !cc.siteOn("example.org") {
		t.Fatal("a refused switch changed the node")
	}

	// (e)
	c.Restart(t, 0)
	c.Restart(t, 1)
	for _, n := range nodes {
		for !n.f.Health().OK {
			<-n.f.HealthChanged()
		}
	}
	if err := cc.m.Off("example.org", "ops"); err != nil {
		t.Fatalf("maint off after etcd is back: %v", err)
	}
	for _, n := range nodes {
		n.waitOn("example.org", false)
		if code := n.serves(); code != http.StatusOK {
			t.Fatalf("after convergence a node serves %d", code)
		}
	}
}

// TestFleetMaintStatusPerNode: `maint status` on any node shows every
// node's applied state and whether it is up; a node writes its report
// only when its state changes.
func TestFleetMaintStatusPerNode(t *testing.T) {
	c := fleettest.Shared(t)
	nodes := joinNodes(t, c, "a", "b", "c")
	for _, n := range nodes {
		if err := n.f.Register(t.Context(), fleet.Member{Version: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	a, b, cc := nodes[0], nodes[1], nodes[2]
	every := func(want func(NodeState) bool) []NodeState {
		for {
			st := b.m.FleetStatus(t.Context())[0]
			if st.FleetError != "" {
				t.Fatal(st.FleetError)
			}
			if len(st.Nodes) == 3 && !slices.ContainsFunc(st.Nodes, func(n NodeState) bool { return !want(n) }) {
				return st.Nodes
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	every(func(n NodeState) bool { return n.Up && n.Known && !n.On })

	md, err := a.m.On(Mode{Site: "example.org", Who: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	got := every(func(n NodeState) bool { return n.Up && n.On })
	for _, n := range got {
		if !n.Since.Equal(md.Since) {
			t.Errorf("%s applies maintenance since %s, switched on at %s", n.Node, n.Since, md.Since)
		}
	}
	// Written twice: the state at start (off), then on. Nothing else.
	resp, err := a.f.Client().Get(t.Context(), a.f.Prefix("maint-applied")+"a")
	if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].Version != 2 {
		t.Fatalf("node a's report: %v %v, want written twice", resp, err)
	}

	// A node that is gone is listed down with the last state it applied.
	cc.m.Unshare()
	cc.f.Close()
	got = every(func(n NodeState) bool { return n.Node != "c" || !n.Up })
	if i := slices.IndexFunc(got, func(n NodeState) bool { return n.Node == "c" }); !got[i].On {
		t.Errorf("the down node's last state is lost: %+v", got[i])
	}
}

// TestStatusWithoutFleetHasNoNodes: a single host shows no fleet columns.
func TestStatusWithoutFleetHasNoNodes(t *testing.T) {
	f := newFixture(t, basicConf)
	for _, s := range f.m.FleetStatus(t.Context()) {
		if s.Nodes != nil || s.FleetError != "" {
			t.Fatalf("single host: %+v", s)
		}
	}
}
