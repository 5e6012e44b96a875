package e2e

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"bartleby/internal/testutil"
)

// everyPartConfig turns every part on, on loopback: two sites (one over
// HTTPS with a self-signed certificate, one plain that watch checks, with
// a cached proxy route and a JSON access log), the mail relay, the SSH
// jail, watch with the clock check asking watch's own NTP responder, and
// the admin UI.
const everyPartConfig = `hostname = "all.test"
[admin]
listen = %[1]q
allow = ["127.0.0.1/32"]
[web]
http = %[2]q
https = %[3]q
[[site]]
hosts = ["secure.test"]
  [[site.route]]
  root = %[4]q
[[site]]
hosts = ["127.0.0.1"]
https = "off"
access_log = %[11]q
access_log_format = "json"
  [[site.route]]
  path = "/cached/"
  proxy = %[12]q
    [site.route.cache]
  [[site.route]]
  root = %[4]q
[mail]
qualify_domain = "all.test"
submit = [%[5]q]
  [mail.smarthost]
  host = %[6]q
[ssh]
listen = %[7]q
  [[ssh.user]]
  name = "alice"
  password = "$2a$12$JeRPLpgYKsf9l8I1/RIaYuJA/LvDLeMu7bp37MQRFlOdZg20qAnBe"
  root = %[8]q
[watch]
features = %[9]q
base = "http://%[2]s"
every = "10s"
  [watch.clock]
  servers = [%[10]q]
  [watch.ntp_server]
  listen = [%[10]q]
`

// TestMetricsEveryPart scrapes /metrics of a daemon with every part on and
// runs `promtool check metrics` on it; the series issue 15 asks for are
// there, with the labels they promise, the proxy cache's among them.
// Every line the daemon logs, at every level, has an event.
func TestMetricsEveryPart(t *testing.T) {
	t.Parallel()
	promtool := testutil.Need(t, "promtool")
	dir := t.TempDir()
	www, jail, features := filepath.Join(dir, "www"), filepath.Join(dir, "jail"), filepath.Join(dir, "features")
	for _, d := range []string{www, jail, features} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(www, "index.html"), []byte("<p>Welcome</p>"), 0o644)
	os.WriteFile(filepath.Join(features, "home.feature"), []byte("Feature: Home\n Scenario: Welcome\n  Given I go to /\n  Then I should see \"Goodbye\"\n  And I go to /\n"), 0o644)
	admin, web, ssh := testutil.FreePort(t), testutil.FreePort(t), testutil.FreePort(t)
	up := testutil.StartUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "cacheable")
	}))
	accessLog := filepath.Join(dir, "access.log")
	d := testutil.StartDaemon(t, fmt.Sprintf(everyPartConfig, admin, web, testutil.FreePort(t), www,
		testutil.FreePort(t), testutil.FreePort(t), ssh, jail, features, udpPort(t), accessLog, up.URL))
	sshLoginFails(t, ssh)
	cachedMissThenHit(t, web, accessLog, up)

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	var text string
	testutil.Eventually(t, 40*time.Second, "a watch run and a clock check in /metrics", func() error {
		text = scrape(t, client, "https://"+admin+"/metrics")
		if !strings.Contains(text, "probe_success{") || !strings.Contains(text, "bartleby_clock_status ") {
			return fmt.Errorf("not yet:\n%s\n%s", text, d.Logs())
		}
		return nil
	})
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	for _, want := range []string{
		`bartleby_build_info{goversion="go`,
		`bartleby_cert_expiry_timestamp_seconds{name="secure.test"} `,
		`bartleby_web_request_duration_seconds_bucket{code="2xx",site="127.0.0.1",le="0.005"} `,
		`bartleby_web_request_duration_seconds_count{code="2xx",site="127.0.0.1"} `,
		`bartleby_web_cache_requests_total{result="hit",site="127.0.0.1"} 1`,
		`bartleby_web_cache_requests_total{result="miss",site="127.0.0.1"} 1`,
		`bartleby_web_cache_bytes{site="127.0.0.1"} `,
		`bartleby_ssh_logins_total{method="password",result="fail"} 1`,
		"bartleby_ssh_connections_active 0",
		"bartleby_clock_status ",
		`probe_step_duration_seconds{feature="home",scenario="welcome",step="01_i_go_to"} `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The step skipped after the failing one has no series, not a 0.
	if strings.Contains(text, `step="03_i_go_to"`) {
		t.Errorf("a skipped step is exported")
	}

	if out, err := d.Run("cache", "purge", "127.0.0.1"); err != nil {
		t.Fatalf("cache purge: %v %s", err, out)
	}
	hasKeys(t, waitEvent(t, d, "web.cache_purged", 1)[0], nil, map[string]any{"site": "127.0.0.1", "prefix": "/", "entries": 1})
	for _, l := range d.LogLines() {
		if strings.HasPrefix(l, "{") && !strings.Contains(l, `"event":"`) {
			t.Errorf("a line without an event: %s", l)
		}
	}
}

// cachedMissThenHit asks the cached route twice: the miss goes upstream
// and its access log line names the upstream; the hit does not reach it
// and its line has no upstream.
func cachedMissThenHit(t *testing.T, web, accessLog string, up *testutil.Upstream) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	for range 2 {
		scrape(t, c, "http://"+web+"/cached/page")
	}
	if n := up.Requests(); n != 1 {
		t.Errorf("the upstream saw %d requests, want 1 (the miss)", n)
	}
	// A line is written once its answer is sent: wait for both.
	var upstreams []any
	testutil.Eventually(t, 10*time.Second, "two access log lines", func() error {
		if upstreams = cachedUpstreams(t, accessLog); len(upstreams) < 2 {
			return fmt.Errorf("upstreams logged: %v", upstreams)
		}
		return nil
	})
	if fmt.Sprint(upstreams) != fmt.Sprint([]any{up.Addr, nil}) {
		t.Errorf("upstreams logged for the miss and the hit: %v, want [%s <nil>]", upstreams, up.Addr)
	}
}

// scrape GETs url, which must answer 200.
func scrape(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	code, body := getBody(t, c, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d", url, code)
	}
	return body
}

// sshLoginFails tries one wrong password.
func sshLoginFails(t *testing.T, addr string) {
	t.Helper()
	_, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: "alice", Auth: []ssh.AuthMethod{ssh.Password("wrong")},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err == nil {
		t.Fatal("a wrong password logged in")
	}
}

// udpPort returns a loopback UDP address free now.
func udpPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// cachedUpstreams are the upstream fields of the access log's lines for
// /cached/page.
func cachedUpstreams(t *testing.T, accessLog string) []any {
	t.Helper()
	b, err := os.ReadFile(accessLog)
	if err != nil {
		t.Fatal(err)
	}
	var upstreams []any
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("access log line %q: %v", l, err)
		}
		if m["uri"] == "/cached/page" {
			upstreams = append(upstreams, m["upstream"])
		}
	}
	return upstreams
}
