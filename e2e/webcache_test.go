package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"bartleby/internal/testutil"
)

// wordpressLike is the test upstream: a 20 KiB HTML page anywhere, a
// Set-Cookie answer under /cart.
func wordpressLike(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/cart") {
		http.SetCookie(w, &http.Cookie{Name: "woocommerce_session", Value: "1"})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Powered-By", "PHP/8.2")
	fmt.Fprintf(w, "<!doctype html><title>%s</title>%s", r.URL.Path, strings.Repeat("<p>Lorem ipsum dolor sit amet.</p>\n", 580))
}

const webCacheConfig = `[web]
http = "%s"
https = "%s"
[[site]]
hosts = ["wp.test"]
https = "off"
  [[site.route]]
  path = "/wp-admin/"
  allow = ["192.0.2.0/24"]
  respond = "admin"
  [[site.route]]
  path = "/wp-login.php"
  rate_limit = "3/m"
  max_body = "1KiB"
  respond = "login"
  [[site.route]]
  path = "/staging/"
  basic_auth = { ann = "%s" }
  respond = "staging"
  [[site.route]]
  path = "/"
  proxy = "%s"
  headers = { set = { X-Frame-Options = "SAMEORIGIN" }, remove = ["X-Powered-By"] }
    [site.route.cache]
    ttl = "1s"
    stale_if_error = "10s"
    bypass_cookies = ["wordpress_logged_in_*"]
    x_cache = true
  [site.maintenance]
  when_backend_down = true
`

type webCache struct {
	d    *testutil.Daemon
	up   *testutil.Upstream
	addr string
	c    *http.Client
}

// startWebCache runs the daemon on webCacheConfig; extraMaint is added to
// its [site.maintenance].
func startWebCache(t *testing.T, extraMaint string) *webCache {
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	w := &webCache{up: testutil.StartUpstream(t, http.HandlerFunc(wordpressLike)), addr: testutil.FreePort(t),
		c: &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 20 * time.Second}}
	w.d = testutil.StartDaemon(t, fmt.Sprintf(webCacheConfig, w.addr, testutil.FreePort(t), hash, w.up.URL)+extraMaint)
	return w
}

// get asks the site for path; mod may change the request.
func (w *webCache) get(t *testing.T, method, path string, body io.Reader, mod func(*http.Request)) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+w.addr+path, body)
	req.Host = "wp.test"
	if mod != nil {
		mod(req)
	}
	resp, err := w.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (w *webCache) expect(t *testing.T, path string, status int, xcache string, mod func(*http.Request)) *http.Response {
	t.Helper()
	resp, body := w.get(t, "GET", path, nil, mod)
	if resp.StatusCode != status || resp.Header.Get("X-Cache") != xcache {
		t.Fatalf("GET %s: %d X-Cache %q, want %d %q\n%.300s", path, resp.StatusCode, resp.Header.Get("X-Cache"), status, xcache, body)
	}
	return resp
}

func TestWebCacheHitStalePurgeAndMaintenance(t *testing.T) {
	w := startWebCache(t, "")
	resp := w.expect(t, "/", 200, "MISS", nil)
	if resp.Header.Get("X-Frame-Options") != "SAMEORIGIN" || resp.Header.Get("X-Powered-By") != "" {
		t.Errorf("headers table not applied: %v", resp.Header)
	}
	w.expect(t, "/", 200, "HIT", nil)
	w.expect(t, "/", 200, "MISS", func(r *http.Request) { r.Header.Set("Cookie", "wordpress_logged_in_1=x") })
	w.expect(t, "/cart", 200, "MISS", nil)
	w.expect(t, "/cart", 200, "MISS", nil)
	if n := w.up.Requests(); n != 4 {
		t.Errorf("upstream saw %d requests, want 4 (miss, bypass, 2 × Set-Cookie)", n)
	}

	out, err := w.d.Run("cache", "purge", "wp.test", "/")
	if err != nil || !strings.Contains(out, "purged 1 entries") {
		t.Fatalf("cache purge: %v %s", err, out)
	}
	w.expect(t, "/", 200, "MISS", nil)

	// The backend goes away: the stale copy, then the maintenance page.
	w.up.Stop()
	time.Sleep(1100 * time.Millisecond) // past the 1s TTL
	resp = w.expect(t, "/", 200, "STALE", nil)
	if !strings.Contains(strings.Join(resp.Header.Values("Warning"), " "), "111") || resp.Header.Get("Age") == "" {
		t.Errorf("stale answer without Warning 111 or Age: %v", resp.Header)
	}
	w.expect(t, "/never-cached", 503, "", nil)
	for i := 0; ; i++ { // stale_if_error is 10s
		resp, _ := w.get(t, "GET", "/", nil, nil)
		if resp.StatusCode == 503 {
			break
		}
		// No 502 even for the request that tries the upstream again when
		// the proxy's fail_duration (10s, as long as stale_if_error here)
		// ends: it gets the stale copy or the maintenance page.
		if i > 300 || resp.StatusCode != 200 {
			t.Fatalf("after stale_if_error: %d %v", resp.StatusCode, resp.Header)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestWebAccessRulesAndLimits(t *testing.T) {
	// The site is in maintenance and this client bypasses it: the route
	// rules still apply.
	w := startWebCache(t, "  allow = [\"127.0.0.1\"]\n")
	if out, err := w.d.Run("maint", "on", "wp.test"); err != nil {
		t.Fatalf("maint on: %v %s", err, out)
	}
	if resp, _ := w.get(t, "GET", "/wp-admin/", nil, nil); resp.StatusCode != 403 {
		t.Errorf("/wp-admin/ from loopback: %d, want 403", resp.StatusCode)
	}
	resp, _ := w.get(t, "GET", "/staging/", nil, nil)
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("staging without a login: %d", resp.StatusCode)
	}
	resp, body := w.get(t, "GET", "/staging/", nil, func(r *http.Request) { r.SetBasicAuth("ann", "s3cret") })
	if resp.StatusCode != 200 || body != "staging" || resp.Header.Get("X-Bartleby-Maintenance") != "bypass" {
		t.Errorf("staging with a login, bypassing maintenance: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if resp, _ := w.get(t, "POST", "/wp-login.php", strings.NewReader(strings.Repeat("x", 2000)), nil); resp.StatusCode != 413 {
		t.Errorf("2000-byte login body: %d, want 413", resp.StatusCode)
	}
	codes := []int{}
	for range 3 {
		resp, _ := w.get(t, "POST", "/wp-login.php", strings.NewReader("log=a"), nil)
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	// The 413 above took the first of the 3 tokens.
	if fmt.Sprint(codes) != "[200 200 429]" {
		t.Errorf("logins answered %v, want [200 200 429]", codes)
	}
}

func TestWebCompressionWithCurl(t *testing.T) {
	w := startWebCache(t, "")
	curl := testutil.Need(t, "curl")
	_, port, _ := net.SplitHostPort(w.addr)
	run := func(args ...string) (string, string) {
		t.Helper()
		base := []string{"-sS", "--max-time", "20", "-D", "-", "--resolve", "wp.test:" + port + ":127.0.0.1"}
		out, err := exec.Command(curl, append(base, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		head, body, _ := strings.Cut(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n\n")
		return strings.ToLower(head), body
	}
	url := "http://wp.test:" + port + "/page"
	head, body := run("--compressed", url)
	if !strings.Contains(head, "content-encoding: zstd") && !strings.Contains(head, "content-encoding: gzip") {
		t.Errorf("curl --compressed got no compressed answer:\n%s", head)
	}
	if !strings.Contains(head, "vary: accept-encoding") || !strings.HasPrefix(body, "<!doctype html><title>/page") || len(body) < 20000 {
		t.Errorf("compressed answer: %s\n%.100s (%d bytes)", head, body, len(body))
	}
	run("-H", "Accept-Encoding: gzip", url) // a variant of its own
	head, _ = run("-H", "Accept-Encoding: gzip;q=1, br;q=0.5", url)
	if !strings.Contains(head, "content-encoding: gzip") || !strings.Contains(head, "x-cache: hit") {
		t.Errorf("the gzip variant from the cache:\n%s", head)
	}
	head, body = run("--compressed", "-r", "0-14", url)
	if !strings.Contains(head, " 206") || strings.Contains(head, "content-encoding") || body != "<!doctype html>" {
		t.Errorf("a range is served uncompressed:\n%s\n%q", head, body)
	}
	head, _ = run(url)
	if strings.Contains(head, "content-encoding") {
		t.Errorf("compressed without Accept-Encoding:\n%s", head)
	}
}

// TestWebRulesNotDodgedByPathOrHeaders: the route rules hold for every
// spelling of a locked path the backend could read as the same place, and
// no header that makes an application act on another URL or method
// reaches the cache (or the upstream); a Range of many ranges gets the
// whole page.
func TestWebRulesNotDodgedByPathOrHeaders(t *testing.T) {
	w := startWebCache(t, "")
	for target, want := range map[string]string{"/WP-ADMIN/": "403", "/wp-admin": "403", "/wp-admin/.": "403",
		"/Wp-Admin/users.php": "403", "//wp-admin/": "403", "/%77p-admin/": "403", "/STAGING/": "401", "/staging": "401"} {
		c, err := net.Dial("tcp", w.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: wp.test\r\nConnection: close\r\n\r\n", target)
		b, _ := io.ReadAll(c)
		c.Close()
		if got := strings.Fields(string(b) + " x x")[1]; got != want {
			t.Errorf("GET %s: %s, want %s", target, got, want)
		}
	}
	for _, k := range []string{"X-Original-URL", "X-Rewrite-URL", "X-HTTP-Method-Override"} {
		w.expect(t, "/poison", 200, "MISS", func(r *http.Request) { r.Header.Set(k, "/wp-admin/") })
	}
	w.expect(t, "/poison", 200, "MISS", nil)
	w.expect(t, "/poison", 200, "HIT", nil)
	ranges := "bytes=0-0" + strings.Repeat(",2-2", 16)
	resp, body := w.get(t, "GET", "/poison", nil, func(r *http.Request) { r.Header.Set("Range", ranges) })
	if resp.StatusCode != 200 || len(body) < 20000 {
		t.Errorf("17 ranges: %d with %d bytes, want the whole page", resp.StatusCode, len(body))
	}
	if resp, _ := w.get(t, "GET", "/poison", nil, func(r *http.Request) { r.Header.Set("Range", "bytes=0-0,2-2") }); resp.StatusCode != 206 {
		t.Errorf("2 ranges: %d, want 206", resp.StatusCode)
	}
}
