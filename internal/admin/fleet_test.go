package admin

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"bartleby/internal/fleet"
	"bartleby/internal/fleet/fleettest"
)

func TestMain(m *testing.M) { os.Exit(fleettest.Main(m)) }

// TestHomeListsFleetNodes: the home page lists every node, up or down in
// words, flags version skew in words, and lays the nodes' watch outcomes
// side by side; a node without [fleet] shows none of it.
func TestHomeListsFleetNodes(t *testing.T) {
	c := fleettest.Shared(t)
	prefix := fleettest.Prefix(t)
	ctx := context.Background()
	self := c.Connect(t, "web1", prefix)
	web2 := c.Connect(t, "web2", prefix)
	gone := c.Connect(t, "web3", prefix)
	for f, m := range map[*fleet.Fleet]fleet.Member{
		self: {Version: "1.2", Parts: []string{"web", "admin"}, Addrs: []string{"127.0.0.1:443"}, Started: testStarted},
		web2: {Version: "1.1", Parts: []string{"web"}},
		gone: {Version: "1.2", Parts: []string{"mail"}},
	} {
		if err := f.Register(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	gone.Close()
	ran := testStarted.Add(59 * time.Minute)
	if err := self.PublishWatch(ctx, []fleet.ScenarioState{
		{Scenario: "Shop / Home", OK: true, Ran: ran, Took: 120 * time.Millisecond},
		{Scenario: "Shop / Checkout", Step: "Then I should see \"Pay\"", Error: "status 502", Ran: ran},
	}); err != nil {
		t.Fatal(err)
	}
	if err := web2.PublishWatch(ctx, []fleet.ScenarioState{{Scenario: "Shop / Home", Error: "<b>timeout</b>", Ran: ran}}); err != nil {
		t.Fatal(err)
	}

	s := newTestServer(t, opts{fleet: self})
	res := s.client("127.0.0.1").get("/")
	wantStatus(t, res, 200)
	for _, want := range []string{
		`<section class="card level-warning">`, `<h2>Fleet <span class="state">warning</span></h2>`,
		`<dt>Nodes up</dt><dd class="level-warning">2 of 3</dd>`,
		`<dt>Version skew</dt><dd class="level-warning">web2 runs 1.1; this node runs 1.2</dd>`,
		`<h2>Fleet nodes</h2>`,
		`<td data-label="Node">web1 (this node)</td><td data-label="State" class="ok">up</td><td data-label="Version">1.2</td><td data-label="Parts">web, admin</td><td data-label="Addresses"><code>127.0.0.1:443</code></td><td data-label="Running since">2026-01-02 03:04:05 UTC (1h0m0s)</td></tr>`,
		`<td data-label="Node">web2</td><td data-label="State" class="ok">up</td><td data-label="Version" class="warn">1.1 (version skew: this node runs 1.2)</td>`,
		`<td data-label="Node">web3</td><td data-label="State" class="bad">down: its lease expired</td>`,
		`<h2>Watch, node by node</h2>`,
		`<th scope="col">web1 <small class="muted">as of `, `<th scope="col">web2 <small class="muted">as of `,
		`<tr><td data-label="Scenario">Shop / Home</td><td data-label="web1" class="ok">passed <small class="muted">(ran 1m0s ago, took 0.120s)</small></td><td data-label="web2" class="bad">failed: &lt;b&gt;timeout&lt;/b&gt; <small`,
		`<tr><td data-label="Scenario">Shop / Checkout</td><td data-label="web1" class="bad">failed at “Then I should see &#34;Pay&#34;”: status 502 <small`,
		`<td data-label="web2"><span class="muted">no outcome</span></td></tr>`,
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("home lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("home page:\n%s", res.body)
	}
	alone := newTestServer(t, opts{})
	if res := alone.client("127.0.0.1").get("/"); strings.Contains(res.body, "Fleet") {
		t.Error("a host without [fleet] shows a fleet")
	}
}

// TestHomeSaysTheNodeIsCutOff: without a quorum the home page says so and
// since when, and does not wait for etcd to list the nodes.
func TestHomeSaysTheNodeIsCutOff(t *testing.T) {
	c := fleettest.Start(t, 3)
	f := c.Connect(t, "web1", fleettest.Prefix(t))
	changed := f.HealthChanged()
	c.Kill(t, 1)
	c.Kill(t, 2)
	select {
	case <-changed:
	case <-time.After(time.Minute):
		t.Fatal("the node did not notice it lost the quorum")
	}
	s := newTestServer(t, opts{fleet: f})
	res := s.client("127.0.0.1").get("/")
	wantStatus(t, res, 200)
	for _, want := range []string{
		`<h2>Fleet <span class="state">failing</span></h2>`,
		`<dt>etcd</dt><dd class="level-failing">cut off since `, `, serving the last known state</dd>`,
		`<p class="warn" role="status">This node is cut off from etcd: the other nodes cannot be listed.</p>`,
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("home lacks %q:\n%s", want, res.body)
		}
	}
}
