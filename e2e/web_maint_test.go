package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"bartleby/internal/testutil"
	"bartleby/internal/web/maint"
)

// maintToken is the bypass secret; bypassPath the public URL prefix that
// trades it for a cookie.
const (
	maintToken = "s3cret-Token_0123456789abcdef"
	bypassPath = "/.well-known/bartleby/bypass/"
)

// maintDaemon is the real binary serving "localhost" (proxied to a live
// backend) and "down.test" (a dead backend, when_backend_down) on free
// loopback ports, driven with curl and the CLI.
type maintDaemon struct {
	t          *testing.T
	d          *testutil.Daemon
	state      string
	curl       string
	httpsAddr  string
	jar        string
	secretFile string
}

const maintConf = `[web]
http = "%[2]s"
https = "%[3]s"
[[site]]
hosts = ["localhost"]
  [[site.route]]
  proxy = "%[4]s"
  [site.maintenance]
  message = "Moving to new hardware."
  allow = ["127.0.0.2"]
  bypass_secret_file = "%[1]s/bypass.secret"
  exempt = ["/healthz"]
[[site]]
hosts = ["down.test"]
  [[site.route]]
  proxy = "http://%[5]s"
  [site.maintenance]
  when_backend_down = true
  retry_after = "90s"
`

// startMaintDaemon starts the daemon; extra is added to the config.
func startMaintDaemon(t *testing.T, extra ...string) *maintDaemon {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "backend saw "+r.URL.Path)
	}))
	t.Cleanup(backend.Close)
	dir := t.TempDir()
	e := &maintDaemon{t: t, curl: testutil.Need(t, "curl"), httpsAddr: testutil.FreePort(t),
		jar: filepath.Join(dir, "jar"), secretFile: filepath.Join(dir, "bypass.secret")}
	if err := os.WriteFile(e.secretFile, []byte(maintToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := strings.Join(extra, "\n") + fmt.Sprintf(maintConf, dir, testutil.FreePort(t), e.httpsAddr, backend.URL, testutil.FreePort(t))
	e.d = testutil.StartDaemon(t, conf)
	e.state = e.d.StateDir
	return e
}

// get runs curl on https://host:port/path with args and returns the
// status, the head (lowercased names) and the body.
func (e *maintDaemon) get(host, path string, args ...string) (int, http.Header, string) {
	e.t.Helper()
	_, port, _ := net.SplitHostPort(e.httpsAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	base := []string{"-sS", "--max-time", "20", "-D", "-", "--cacert", filepath.Join(e.state, "certs/self-signed/"+host+".crt"),
		"--resolve", host + ":" + port + ":127.0.0.1"}
	out, err := exec.CommandContext(ctx, e.curl, append(append(base, args...), "https://"+host+":"+port+path)...).CombinedOutput()
	if err != nil {
		e.t.Fatalf("curl %v %s: %v\n%s", args, path, err, out)
	}
	return parseCurl(e.t, string(out))
}

// parseCurl splits curl -D - output into the last response's status,
// headers and body.
func parseCurl(t *testing.T, out string) (int, http.Header, string) {
	t.Helper()
	out = strings.ReplaceAll(out, "\r\n", "\n")
	var head, body string
	for {
		var ok bool
		head, body, ok = strings.Cut(out, "\n\n")
		if !ok || !strings.HasPrefix(body, "HTTP/") {
			break
		}
		out = body // a redirect followed with -L
	}
	lines := strings.Split(head, "\n")
	f := strings.Fields(lines[0])
	if len(f) < 2 {
		t.Fatalf("no status line in %q", out)
	}
	code, _ := strconv.Atoi(f[1])
	h := http.Header{}
	for _, l := range lines[1:] {
		if k, v, ok := strings.Cut(l, ":"); ok {
			h.Add(k, strings.TrimSpace(v))
		}
	}
	return code, h, body
}

// cli runs bartleby with args against the daemon.
func (e *maintDaemon) cli(args ...string) string {
	e.t.Helper()
	out, err := e.d.Run(args...)
	if err != nil {
		e.t.Fatalf("bartleby %v: %v\n%s", args, err, out)
	}
	return out
}

func TestDaemonMaintenance(t *testing.T) {
	t.Parallel()
	e := startMaintDaemon(t)
	if code, _, body := e.get("localhost", "/"); code != 200 || body != "backend saw /" {
		t.Fatalf("before maintenance: %d %q", code, body)
	}
	out := e.cli("maint", "on", "localhost", "--for", "2h", "--message", "Upgrading the shop.")
	if !strings.Contains(out, "localhost: maintenance on until") {
		t.Errorf("maint on said %q", out)
	}
	// Effective for the next request, without a restart.
	code, h, body := e.get("localhost", "/cart")
	ra, _ := strconv.Atoi(h.Get("Retry-After"))
	if code != 503 || ra < 7100 || ra > 7200 || h.Get("Cache-Control") != "no-store" || !strings.Contains(body, "Upgrading the shop.") || !strings.Contains(body, "localhost") {
		t.Fatalf("in maintenance: %d %v\n%.400s", code, h, body)
	}
	code, h, body = e.get("localhost", "/api", "-H", "Accept: application/json")
	var j struct{ Site, Message string }
	if err := json.Unmarshal([]byte(body), &j); err != nil || code != 503 || j.Site != "localhost" || j.Message != "Upgrading the shop." || h.Get("Content-Type") != "application/json" {
		t.Errorf("JSON: %d %v %q (%v)", code, h, body, err)
	}
	if code, h, body = e.get("localhost", "/", "-I"); code != 503 || strings.TrimSpace(body) != "" || h.Get("Retry-After") == "" {
		t.Errorf("HEAD: %d %v %q", code, h, body)
	}
	if code, _, body = e.get("localhost", "/healthz"); code != 200 || body != "backend saw /healthz" {
		t.Errorf("exempt path: %d %q", code, body)
	}

	t.Run("allowlist", func(t *testing.T) {
		if code, h, body := e.get("localhost", "/x", "--interface", "127.0.0.2"); code != 200 || body != "backend saw /x" || h.Get(maint.BypassHeader) != "bypass" {
			t.Errorf("from 127.0.0.2: %d %v %q", code, h, body)
		}
		if code, _, _ := e.get("localhost", "/x", "--interface", "127.0.0.1"); code != 503 {
			t.Errorf("from 127.0.0.1: %d", code)
		}
		if code, _, _ := e.get("localhost", "/x", "--interface", "127.0.0.1", "-H", "X-Forwarded-For: 127.0.0.2"); code != 503 {
			t.Errorf("X-Forwarded-For from an untrusted peer was believed: %d", code)
		}
	})

	t.Run("secret URL", func(t *testing.T) {
		code, h, body := e.get("localhost", bypassPath+maintToken, "-c", e.jar, "-b", e.jar, "-L")
		if code != 200 || body != "backend saw /" || h.Get(maint.BypassHeader) != "bypass" {
			t.Fatalf("secret URL, then /: %d %v %q", code, h, body)
		}
		jar, _ := os.ReadFile(e.jar)
		if !strings.Contains(string(jar), "#HttpOnly_localhost") || !strings.Contains(string(jar), "\t/\tTRUE\t") {
			t.Errorf("the cookie is not HttpOnly and Secure:\n%s", jar)
		}
		if code, _, body := e.get("localhost", "/orders", "-b", e.jar); code != 200 || body != "backend saw /orders" {
			t.Errorf("with the cookie: %d %q", code, body)
		}
		for _, bad := range []string{bypassPath + strings.ToUpper(maintToken), bypassPath + maintToken + "/"} {
			if code, h, _ := e.get("localhost", bad); code != 503 || h.Get("Set-Cookie") != "" {
				t.Errorf("%s: %d %v", bad, code, h)
			}
		}
		var val string
		for _, l := range strings.Split(string(jar), "\n") {
			if f := strings.Fields(l); len(f) == 7 && f[5] == maint.CookieName {
				val = f[6]
			}
		}
		if val == "" {
			t.Fatalf("no %s in the jar:\n%s", maint.CookieName, jar)
		}
		for _, forged := range []string{val[:len(val)-2], strings.Replace(val, "v1.1", "v1.2", 1), val + "x", "v1.99999999999." + val[len(val)-43:]} {
			if code, _, _ := e.get("localhost", "/", "-b", maint.CookieName+"="+forged); code != 503 {
				t.Errorf("forged cookie %q: %d", forged, code)
			}
		}
	})

	t.Run("unknown site", func(t *testing.T) {
		out, err := e.d.Run("maint", "on", "nope.test")
		if err == nil || !strings.Contains(out, "down.test, localhost") {
			t.Errorf("maint on nope.test: %v %s", err, out)
		}
	})

	t.Run("survives a restart", func(t *testing.T) {
		e.d.Restart()
		if code, _, _ := e.get("localhost", "/"); code != 503 {
			t.Fatalf("after restart: %d", code)
		}
		st := e.cli("maint", "status")
		me, _ := user.Current()
		if !strings.Contains(st, "localhost") || !strings.Contains(st, "maintenance") || !strings.Contains(st, me.Username) {
			t.Errorf("status after restart:\n%s", st)
		}
		e.cli("maint", "off", "localhost")
		if code, _, body := e.get("localhost", "/"); code != 200 || body != "backend saw /" {
			t.Errorf("after maint off: %d %q", code, body)
		}
	})

	t.Run("when backend down", func(t *testing.T) {
		// The first request finds the backend dead, the next one finds it
		// known down: both get the maintenance page, not the proxy's 502.
		for _, when := range []string{"first request", "backend known down"} {
			code, h, body := e.get("down.test", "/")
			if code != 503 || h.Get("Retry-After") != "90" || !strings.Contains(body, "Down for maintenance") || h.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: %d %v", when, code, h)
			}
		}
	})
}

func TestPageInlineCLI(t *testing.T) {
	t.Parallel()
	bin := testutil.Binary(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "maintenance.html")
	cmd := exec.Command(bin, "page", "inline", "../internal/web/maint/inline/testdata/page/index.html", "-o", out)
	report, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("page inline: %v\n%s", err, report)
	}
	for _, want := range []string{"css/style.css", "css/fonts.css", "fonts/open-sans-700.woff2  font/woff2", "img/logo.png", "image/png", "img/tools.svg", "image/svg+xml", "5 resources, page is", "wrote " + out} {
		if !strings.Contains(string(report), want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	page, _ := os.ReadFile(out)
	if !strings.Contains(string(page), "data:font/woff2;base64,") || strings.Contains(string(page), `href="css/`) {
		t.Errorf("output not self-contained")
	}
	// The result is a valid custom page.
	conf := filepath.Join(dir, "b.toml")
	os.WriteFile(conf, []byte(fmt.Sprintf("state_dir = %q\n[[site]]\nhosts = [\"localhost\"]\n[site.maintenance]\npage = %q\n", filepath.Join(dir, "state"), out)), 0o600)
	if out, err := exec.Command(bin, "check", "-c", conf).CombinedOutput(); err != nil {
		t.Errorf("check with the inlined page: %v\n%s", err, out)
	}
	// Remote references are refused, all of them listed.
	remote := filepath.Join(dir, "remote.html")
	os.WriteFile(remote, []byte(`<link rel="stylesheet" href="https://cdn.example/a.css"><img src="//img.example/b.png">`), 0o644)
	report, err = exec.Command(bin, "page", "inline", remote, "-o", filepath.Join(dir, "r.html")).CombinedOutput()
	if err == nil || !strings.Contains(string(report), "https://cdn.example/a.css") || !strings.Contains(string(report), "//img.example/b.png") {
		t.Errorf("remote page: %v\n%s", err, report)
	}
	if _, err := os.Stat(filepath.Join(dir, "r.html")); err == nil {
		t.Error("an output was written for a refused page")
	}
	// A heavy page is written, with a warning.
	big := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 600<<10)...)
	os.WriteFile(filepath.Join(dir, "big.png"), big, 0o644)
	os.WriteFile(filepath.Join(dir, "big.html"), []byte(`<img src="big.png" alt="">`), 0o644)
	report, err = exec.Command(bin, "page", "inline", filepath.Join(dir, "big.html"), "-o", filepath.Join(dir, "big-out.html")).CombinedOutput()
	if err != nil || !strings.Contains(string(report), "warning: the page is larger than 512.0 KB") {
		t.Errorf("big page: %v\n%s", err, report)
	}
}

// TestAdminSwitch switches maintenance from the admin UI of the real
// daemon with curl: the form's CSRF token is needed, and the switch shows
// on the site at once.
func TestAdminSwitch(t *testing.T) {
	t.Parallel()
	admin := testutil.FreePort(t)
	e := startMaintDaemon(t, "[admin]\nlisten = \""+admin+"\"\n")
	jar := filepath.Join(t.TempDir(), "admin-jar")
	adminCurl := func(args ...string) (int, string) {
		t.Helper()
		out, err := exec.Command(e.curl, append([]string{"-sS", "-k", "--max-time", "20", "-D", "-", "-c", jar, "-b", jar}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		code, _, body := parseCurl(t, string(out))
		return code, body
	}
	url := "https://" + admin + "/maintenance"
	code, page := adminCurl(url)
	_, rest, ok := strings.Cut(page, `name="csrf" value="`)
	if code != 200 || !ok {
		t.Fatalf("admin page: %d\n%s", code, page)
	}
	token, _, _ := strings.Cut(rest, `"`)
	// Without the token: refused, nothing changes.
	if code, _ := adminCurl("--data", "action=on&site=localhost", url); code != http.StatusForbidden {
		t.Errorf("POST without CSRF token: %d", code)
	}
	if code, _, _ := e.get("localhost", "/"); code != 200 {
		t.Fatalf("the site went down after a refused POST: %d", code)
	}
	if code, _ := adminCurl("--data", "csrf="+token+"&action=on&site=localhost&for=1h&message=From+the+admin+UI", url); code != http.StatusSeeOther {
		t.Fatalf("POST on: %d", code)
	}
	if code, _, body := e.get("localhost", "/"); code != 503 || !strings.Contains(body, "From the admin UI") {
		t.Errorf("after the admin switch: %d", code)
	}
	if _, page = adminCurl(url); !strings.Contains(page, "in maintenance") || !strings.Contains(page, "admin UI from 127.0.0.1") {
		t.Errorf("admin page after the switch:\n%s", page)
	}
	if code, _ := adminCurl("--data", "csrf="+token+"&action=off&site=localhost", url); code != http.StatusSeeOther {
		t.Fatalf("POST off: %d", code)
	}
	if code, _, _ := e.get("localhost", "/"); code != 200 {
		t.Errorf("after the admin switch off: %d", code)
	}
}
