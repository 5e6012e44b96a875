package fleettest

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"bartleby/internal/testutil"
)

// Shop is a site for StartNodes on plain HTTP (Node.Get), answering
// ShopBody: what maintenance switches are tested and timed on.
const (
	ShopHost = "shop.test"
	ShopBody = "shop is open"
	Shop     = `
[[site]]
hosts = ["` + ShopHost + `"]
https = "off"
  [[site.route]]
  respond = "` + ShopBody + `"
`
)

// Node is a `bartleby serve` daemon of a test fleet: its name and its web
// listeners on loopback.
type Node struct {
	*testutil.Daemon
	Name        string
	HTTP, HTTPS string // host:port
}

// NewNodes names n nodes web1..webN and picks their free loopback ports,
// before they start (a test may point Pebble at a node's HTTP port first).
func NewNodes(t testing.TB, n int) []*Node {
	t.Helper()
	nodes := make([]*Node, n)
	for i := range nodes {
		nodes[i] = &Node{Name: fmt.Sprintf("web%d", i+1), HTTP: testutil.FreePort(t), HTTPS: testutil.FreePort(t)}
	}
	return nodes
}

// StartNodes runs each node as a daemon joined to c under prefix, with
// [fleet], [web] on the node's ports, and extra (sites, [acme], ...), in
// turn; each is ready (control socket answering) when this returns.
func (c *Cluster) StartNodes(t testing.TB, prefix, extra string, nodes ...*Node) {
	t.Helper()
	for _, n := range nodes {
		n.Daemon = testutil.StartDaemon(t, c.TOML(n.Name, prefix)+
			fmt.Sprintf("[web]\nhttp = %q\nhttps = %q\n", n.HTTP, n.HTTPS)+extra)
	}
}

// TOML returns the [fleet] section of node on this cluster under prefix.
func (c *Cluster) TOML(node, prefix string) string {
	return fmt.Sprintf(`[fleet]
etcd = ["%s"]
cert = %q
key = %q
ca = %q
key_file = %q
node = %q
prefix = %q
dial_timeout = "2s"
`, strings.Join(c.Endpoints(), `", "`), c.Cert, c.Key, c.CA, c.KeyFile, node, prefix)
}

var plainHTTP = &http.Client{
	Timeout:       5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	// A fresh connection per request: what a visitor bouncing between
	// nodes sees, and no idle connections left behind.
	Transport: &http.Transport{DisableKeepAlives: true},
}

// Get asks the node's plain HTTP listener for path on host (a site with
// https = "off") and returns the status and up to 64 KiB of the body.
func (n *Node) Get(host, path string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+n.HTTP+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	resp, err := plainHTTP.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(body), err
}
