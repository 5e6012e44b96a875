package e2e

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"bartleby/internal/fleet"
	"bartleby/internal/fleet/fleettest"
	"bartleby/internal/testutil"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// fleetAdminConf is one fleet node with the watcher (a passing and a
// failing scenario) and the admin UI; %[6]s is the web part a reload adds.
const fleetAdminConf = `[fleet]
etcd = [%[1]q]
cert = %[2]q
key = %[3]q
ca = %[4]q
key_file = %[5]q
node = "web1"
prefix = %[7]q
[watch]
features = %[8]q
base = %[9]q
every = "10s"
[admin]
listen = %[10]q
%[6]s`

// TestFleetAdminHome runs one bartleby node on a one-member etcd: its
// admin home lists it up with its parts, and another node (a client
// registering as web2, at another version) up with version skew; the
// watch outcomes it published show node by node. A reload that adds a
// part rewrites its fleet record under the same lease; a reload that
// changes nothing writes nothing.
func TestFleetAdminHome(t *testing.T) {
	t.Parallel()
	c := fleettest.Start(t, 1)
	prefix := fleettest.Prefix(t)
	backend, features := shopSite(t)
	admin, web := testutil.FreePort(t), testutil.FreePort(t)
	conf := func(extra string) string {
		return fmt.Sprintf(fleetAdminConf, c.Endpoints()[0], c.Cert, c.Key, c.CA, c.KeyFile, extra, prefix, features, backend, admin)
	}
	d := testutil.StartDaemon(t, conf(""))
	if !d.WaitLog(`"msg":"watch: scenario failed","`, time.Minute) {
		t.Fatal("the scenarios did not run")
	}
	other := c.Connect(t, "web2", prefix)
	if err := other.Register(context.Background(), fleet.Member{Version: "0.0-other", Parts: []string{"mail"}}); err != nil {
		t.Fatal(err)
	}
	waitWatchPublished(t, other, 2)

	home := fetchAdminHome(t, admin)
	for _, want := range []string{
		`<h2>Fleet nodes</h2>`, `<td data-label="Node">web1 (this node)</td><td data-label="State" class="ok">up</td>`,
		`<td data-label="Parts">watch, admin</td>`,
		`<td data-label="Node">web2</td><td data-label="State" class="ok">up</td><td data-label="Version" class="warn">0.0-other (version skew: this node runs `,
		`<h2>Watch, node by node</h2>`, `<th scope="col">web1 <small class="muted">as of `,
		`<tr><td data-label="Scenario">Shop / Home page</td><td data-label="web1" class="ok">passed`,
		`<tr><td data-label="Scenario">Shop / Checkout</td><td data-label="web1" class="bad">failed at “I should see &#34;Pay now&#34;”: &#34;Pay now&#34; not found on `,
	} {
		if !strings.Contains(home, want) {
			t.Errorf("admin home lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("admin home:\n%s", home)
	}
	t.Run("browser", func(t *testing.T) { checkAllWidths(t, "https://"+admin+"/", "fleet-home") })

	lease := fleetLease(t, other, prefix+"alive/web1")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(d.Config, []byte("state_dir = \""+d.StateDir+"\"\n"+s), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := d.Run("reload"); err != nil {
			t.Fatalf("reload: %v\n%s", err, out)
		}
	}
	write(conf(fmt.Sprintf("[web]\nhttp = %q\nhttps = %q\n[[site]]\nhosts = [\"127.0.0.1\"]\n  [[site.route]]\n  root = %q\n", web, testutil.FreePort(t), t.TempDir())))
	nodes, err := other.Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || nodes[0].Node != "web1" || !nodes[0].Up || !slices.Contains(nodes[0].Parts, "web") || !strings.Contains(strings.Join(nodes[0].Addrs, " "), "http://"+web) {
		t.Fatalf("after the reload adding web: %+v", nodes)
	}
	if got := fleetLease(t, other, prefix+"alive/web1"); got != lease {
		t.Fatalf("the reload changed the lease from %x to %x", lease, got)
	}
	// The web part the reload started reports its maintenance state once,
	// on its own time: that start-up write must land before the count.
	waitKey(t, other, prefix+"maint-applied/web1")
	before := fleettest.Revision(t, other)
	d.Signal(syscall.SIGHUP)
	if !d.WaitLog(`"by":"SIGHUP"`, time.Minute) {
		t.Fatal("no reload by SIGHUP logged")
	}
	if after := fleettest.Revision(t, other); after != before {
		resp, err := other.Client().Get(context.Background(), prefix, clientv3.WithPrefix(), clientv3.WithMinModRev(before+1))
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range resp.Kvs {
			t.Logf("written at revision %d: %s = %.300s", kv.ModRevision, kv.Key, kv.Value)
		}
		t.Fatalf("a reload that changed nothing wrote to etcd: revision %d to %d", before, after)
	}
}

// waitKey waits until key exists in f's etcd.
func waitKey(t *testing.T, f *fleet.Fleet, key string) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, key+" in etcd", func() error {
		resp, err := f.Client().Get(context.Background(), key, clientv3.WithCountOnly())
		if err == nil && resp.Count == 0 {
			err = errors.New("no such key")
		}
		return err
	})
}

// waitWatchPublished waits until web1's watch summary in etcd holds n
// scenarios.
func waitWatchPublished(t *testing.T, f *fleet.Fleet, n int) {
	t.Helper()
	testutil.Eventually(t, time.Minute, fmt.Sprintf("web1 to publish %d scenario outcomes", n), func() error {
		reps, err := f.WatchReports(context.Background())
		if err == nil && !slices.ContainsFunc(reps, func(r fleet.WatchReport) bool { return r.Node == "web1" && len(r.Scenarios) == n }) {
			err = fmt.Errorf("published: %+v", reps)
		}
		return err
	})
}

// checkAllWidths runs the browser checks of every admin page (no
// overflow, no script, no serious axe violation) on url at each width.
func checkAllWidths(t *testing.T, url, name string) {
	bin, axe, out := browserTools(t)
	ctx := adminBrowser(t, bin)
	for _, width := range viewports {
		viewport(t, ctx, width)
		check(t, ctx, axe, url, name, width, out)
	}
}

// fetchAdminHome fetches the admin home page (no login: the admin UI
// allows loopback without users).
func fetchAdminHome(t *testing.T, admin string) string {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	res, err := client.Get("https://" + admin + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("admin home: %d %v", res.StatusCode, err)
	}
	return string(body)
}

func fleetLease(t *testing.T, f *fleet.Fleet, key string) int64 {
	t.Helper()
	resp, err := f.Client().Get(context.Background(), key)
	if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].Lease == 0 {
		t.Fatalf("%s: %v %+v", key, err, resp)
	}
	return resp.Kvs[0].Lease
}
