package web

import (
	"compress/gzip"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"bartleby/internal/certs"
	"bartleby/internal/config"
	"bartleby/internal/testutil"
	"bartleby/internal/web/proxycache"
)

// newTable builds the site table of a config (see parseConfig) in process.
func newTable(t testing.TB, text string) (*table, *config.Config) {
	t.Helper()
	cfg, err := parseConfig(t, text)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cm, err := certs.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cm.Close)
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	tb, err := buildTable(cfg, cm, nil, m, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tb.Close() })
	return tb, cfg
}

// do sends one request through the table, over "TLS" when sni is not "".
func do(tb *table, method, url, sni string, hdr ...string) *http.Response {
	r := httptest.NewRequest(method, url, nil)
	r.RemoteAddr = "192.0.2.7:5555"
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	if sni != "" {
		r.TLS = &tls.ConnectionState{ServerName: sni}
		tb.serveHTTPS(w, r)
	} else {
		tb.http.ServeHTTP(w, r)
	}
	return w.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWildcardTakesOnlyDNSLabels: Go's server admits Host values with
// characters no host name has; a wildcard site does not take them, so they
// never reach the HTTPS redirect, the upstream or the cache key.
func TestWildcardTakesOnlyDNSLabels(t *testing.T) {
	t.Parallel()
	tb, _ := newTable(t, "[[site]]\nhosts = [\"*.w.test\"]\n[[site.route]]\nrespond = \"w\"\n")
	for host, want := range map[string]int{"x%2f.w.test": 404, "x'!$.w.test": 404, "x(y)*,=.w.test": 404,
		".w.test": 404, strings.Repeat("a", 64) + ".w.test": 404, "a_b-C9.w.test": 308} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		w := httptest.NewRecorder()
		tb.http.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("Host %q: %d, want %d (Location %q)", host, w.Code, want, w.Header().Get("Location"))
		}
	}
}

func TestHostRouting(t *testing.T) {
	t.Parallel()
	tb, _ := newTable(t, `[[site]]
hosts = ["a.test", "*.w.test"]
hsts_max_age = "2h"
[[site.route]]
respond = "site a"
[[site]]
hosts = ["plain.test"]
https = "off"
[[site.route]]
respond = "plain"
`)
	tests := []struct {
		method, url, sni string
		status           int
		body, location   string
	}{
		{"GET", "https://a.test/", "a.test", 200, "site a", ""},
		{"GET", "https://A.Test.:18443/", "a.test", 200, "site a", ""},
		{"GET", "https://x.w.test/", "x.w.test", 200, "site a", ""},
		{"GET", "https://y.x.w.test/", "y.x.w.test", 421, "", ""},
		{"GET", "http://a_b-c.w.test/", "", 308, "", "https://a_b-c.w.test:18443/"},
		{"GET", "https://w.test/", "w.test", 421, "", ""},
		{"GET", "https://other.test/", "a.test", 421, "", ""},
		{"GET", "https://a.test/", "other.test", 421, "", ""},
		{"GET", "https://plain.test/", "plain.test", 421, "", ""},
		{"GET", "http://other.test/", "", 404, "", ""},
		{"GET", "http://a.test/p/q?x=1&y=%20", "", 308, "", "https://a.test:18443/p/q?x=1&y=%20"},
		{"POST", "http://x.w.test:80/form", "", 308, "", "https://x.w.test:18443/form"},
		{"GET", "http://plain.test/", "", 200, "plain", ""},
	}
	for _, tt := range tests {
		resp := do(tb, tt.method, tt.url, tt.sni)
		b := body(t, resp)
		if resp.StatusCode != tt.status || (tt.body != "" && b != tt.body) || resp.Header.Get("Location") != tt.location {
			t.Errorf("%s %s (SNI %q): %d %q Location %q; want %d %q %q", tt.method, tt.url, tt.sni,
				resp.StatusCode, b, resp.Header.Get("Location"), tt.status, tt.body, tt.location)
		}
		if tt.status != 200 && strings.Contains(b, "site a") {
			t.Errorf("%s leaked another site's content", tt.url)
		}
		hsts := resp.Header.Get("Strict-Transport-Security")
		if want := tt.sni != "" && tt.status == 200; (hsts == "max-age=7200") != want {
			t.Errorf("%s: HSTS %q", tt.url, hsts)
		}
	}
}

func TestStatic(t *testing.T) {
	t.Parallel()
	tb, cfg := newTable(t, `[[site]]
hosts = ["a.test"]
[[site.route]]
path = "/wp-uploads/"
strip_prefix = "/wp-uploads"
root = "{{dir}}/uploads"
[[site.route]]
path = "/pub/"
strip_prefix = "/pub"
root = "{{dir}}"
browse = true
[[site.route]]
ext = ["css", "html", "txt", "bin"]
root = "{{dir}}/www"
cache_control = "public, max-age=3600"
[[site.route]]
redirect = "https://app.test/x{path}?{query}"
code = 302
`)
	dir := filepath.Dir(cfg.File)
	testutil.WriteFile(t, filepath.Join(dir, "www/index.html"), "<h1>home</h1>")
	testutil.WriteFile(t, filepath.Join(dir, "www/s.css"), "body{}")
	testutil.WriteFile(t, filepath.Join(dir, "www/s.css.gz"), gzipped(t, "body{}"))
	testutil.WriteFile(t, filepath.Join(dir, "www/.secret.txt"), "secret")
	testutil.WriteFile(t, filepath.Join(dir, "www/u.bin"), "<script>x</script>")
	testutil.WriteFile(t, filepath.Join(dir, "www/sub/a.txt"), "sub")
	testutil.WriteFile(t, filepath.Join(dir, "www/sub/.hidden"), "")
	testutil.WriteFile(t, filepath.Join(dir, "uploads/2024/p.css"), "uploaded")
	testutil.WriteFile(t, filepath.Join(dir, "outside.txt"), "outside")
	if err := os.Symlink(filepath.Join(dir, "outside.txt"), filepath.Join(dir, "www/link.txt")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url    string
		hdr    []string
		status int
		body   string
		check  map[string]string
	}{
		{"/s.css", nil, 200, "body{}", map[string]string{"Content-Type": "text/css; charset=utf-8",
			"Cache-Control": "public, max-age=3600", "Vary": "Accept-Encoding", "Content-Encoding": ""}},
		{"/s.css", []string{"Accept-Encoding", "br;q=0, gzip"}, 200, gzipped(t, "body{}"), map[string]string{"Content-Encoding": "gzip", "Content-Type": "text/css; charset=utf-8"}},
		{"/s.css", []string{"Range", "bytes=1-2"}, 206, "od", nil},
		{"/sub/a.txt", nil, 200, "sub", map[string]string{"Content-Type": "text/plain; charset=utf-8"}},
		{"/u.bin", nil, 200, "<script>x</script>", map[string]string{"Content-Type": "application/octet-stream", "X-Content-Type-Options": "nosniff"}},
		{"/.secret.txt", nil, 404, "", nil},
		{"/link.txt", nil, 404, "", nil},
		{"/sub/../../outside.txt", nil, 400, "", nil},
		{"/wp-uploads/2024/p.css", nil, 200, "uploaded", nil},
		{"/wp-uploads//2024/p.css", nil, 200, "uploaded", nil},
		{"/wp-uploads/../outside.txt", nil, 400, "", nil},
		{"/pub/www/", nil, 200, "", nil},
		{"/pub/uploads", nil, 301, "", map[string]string{"Location": "/pub/uploads/"}},
		{"/pub/www/sub/", nil, 200, "a.txt", nil},
		{"/index.html", nil, 200, "<h1>home</h1>", nil},
		{"/nope.css", nil, 404, "", nil},
		{"/app?id=3", nil, 302, "", map[string]string{"Location": "https://app.test/x/app?id=3"}},
	}
	for _, tt := range tests {
		resp := do(tb, "GET", "https://a.test"+tt.url, "a.test", tt.hdr...)
		b := body(t, resp)
		if resp.StatusCode != tt.status || !strings.Contains(b, tt.body) {
			t.Errorf("%s: %d %q; want %d %q", tt.url, resp.StatusCode, b, tt.status, tt.body)
		}
		if strings.Contains(b, "outside") || strings.Contains(b, "secret") {
			t.Errorf("%s leaked a file outside the root or a dotfile: %q", tt.url, b)
		}
		for k, v := range tt.check {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", tt.url, k, got, v)
			}
		}
	}
	// Conditional request with the ETag just served.
	resp := do(tb, "GET", "https://a.test/s.css", "a.test")
	etag := resp.Header.Get("ETag")
	if resp = do(tb, "GET", "https://a.test/s.css", "a.test", "If-None-Match", etag); etag == "" || resp.StatusCode != 304 {
		t.Errorf("If-None-Match %q: %d", etag, resp.StatusCode)
	}
	// The listing shows files but no dotfiles.
	resp = do(tb, "GET", "https://a.test/pub/www/sub/", "a.test")
	if b := body(t, resp); strings.Contains(b, ".hidden") || !strings.Contains(b, `href="./a.txt"`) {
		t.Errorf("listing: %s", b)
	}
}

func gzipped(t *testing.T, s string) string {
	var b strings.Builder
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func headers(t *testing.T, resp *http.Response) map[string]string {
	t.Helper()
	var h map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("status %d: %v", resp.StatusCode, err)
	}
	return h
}

func TestProxyHeaders(t *testing.T) {
	t.Parallel()
	be := testutil.Echo(t)
	tb, _ := newTable(t, `trusted_proxies = ["192.0.2.0/28"]
[[site]]
hosts = ["a.test"]
[[site.route]]
path = "/rw/"
proxy = "`+be.URL+`"
proxy_host = "rewrite"
[[site.route]]
proxy = ["http://127.0.0.1:1", "`+be.URL+`"]
`)
	// 192.0.2.7 is trusted: its chain is kept, the client is the first
	// untrusted address from the right.
	h := headers(t, do(tb, "GET", "https://a.test/x?q=1", "a.test", "X-Forwarded-For", "198.51.100.1, 192.0.2.3", "X-Forwarded-Proto", "http"))
	want := map[string]string{"Host": "a.test", "Path": "/x?q=1", "X-Forwarded-For": "198.51.100.1, 192.0.2.3, 192.0.2.7",
		"X-Real-Ip": "198.51.100.1", "X-Forwarded-Proto": "http", "X-Forwarded-Host": "a.test"}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("trusted: %s = %q, want %q", k, h[k], v)
		}
	}
	h = headers(t, do(tb, "GET", "https://a.test/rw/y", "a.test"))
	if h["Host"] != strings.TrimPrefix(be.URL, "http://") || h["X-Forwarded-Host"] != "a.test" || h["X-Forwarded-Proto"] != "https" {
		t.Errorf("rewrite: %v", h)
	}
}

func TestProxyUntrusted(t *testing.T) {
	t.Parallel()
	be := testutil.Echo(t)
	tb, _ := newTable(t, `[[site]]
hosts = ["a.test"]
https = "off"
[[site.route]]
proxy = "`+be.URL+`"
`)
	h := headers(t, do(tb, "GET", "http://a.test/", "", "X-Forwarded-For", "6.6.6.6", "X-Real-IP", "6.6.6.6",
		"X-Forwarded-Host", "evil.test", "Forwarded", "for=6.6.6.6"))
	want := map[string]string{"X-Forwarded-For": "192.0.2.7", "X-Real-Ip": "192.0.2.7", "X-Forwarded-Proto": "http",
		"X-Forwarded-Host": "a.test", "Forwarded": ""}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("%s = %q, want %q", k, h[k], v)
		}
	}
}

// TestProxySpoofableHeaders: no header that some upstream reads as the
// client's address passes unless bartleby set it, from a trusted proxy or
// not; a trusted proxy's X-Forwarded-* pass.
func TestProxySpoofableHeaders(t *testing.T) {
	t.Parallel()
	be := testutil.Echo(t)
	tb, _ := newTable(t, `trusted_proxies = ["192.0.2.7/32"]
[[site]]
hosts = ["a.test", "b.test"]
https = "off"
[[site.route]]
proxy = "`+be.URL+`"
`)
	spoof := []string{"X-Client-IP", "6.6.6.6", "True-Client-IP", "6.6.6.6", "CF-Connecting-IP", "6.6.6.6",
		"Fastly-Client-IP", "6.6.6.6", "X-Cluster-Client-IP", "6.6.6.6", "Client-IP", "6.6.6.6",
		"X_Forwarded_For", "6.6.6.6", "X_Real_IP", "6.6.6.6", "X.Forwarded.For", "6.6.6.6",
		"Forwarded", "for=6.6.6.6", "X-Forwarded-Port", "1", "X-Forwarded-Ssl", "on", "X-Trace", "kept",
		"X-Original-URL", "/wp-admin/", "X-Rewrite-URL", "/wp-admin/", "X-HTTP-Method-Override", "DELETE"}
	h := headers(t, do(tb, "GET", "http://a.test/", "", spoof...))
	r := httptest.NewRequest("GET", "http://a.test/", nil)
	r.RemoteAddr = "198.51.100.1:5555" // untrusted
	for i := 0; i < len(spoof); i += 2 {
		r.Header.Set(spoof[i], spoof[i+1])
	}
	w := httptest.NewRecorder()
	tb.http.ServeHTTP(w, r)
	untrusted := headers(t, w.Result())
	for _, k := range []string{"X-Client-Ip", "True-Client-Ip", "Cf-Connecting-Ip", "Fastly-Client-Ip", "X-Cluster-Client-Ip",
		"Client-Ip", "X_forwarded_for", "X_real_ip", "X.forwarded.for", "Forwarded"} {
		if v, ok := h[k]; ok {
			t.Errorf("trusted peer: %s = %q passed", k, v)
		}
		if v, ok := untrusted[k]; ok {
			t.Errorf("untrusted peer: %s = %q passed", k, v)
		}
	}
	if h["X-Forwarded-Port"] != "1" || h["X-Forwarded-Ssl"] != "on" || h["X-Trace"] != "kept" {
		t.Errorf("trusted peer: its X-Forwarded-* or an ordinary header was dropped: %v", h)
	}
	if _, ok := untrusted["X-Forwarded-Port"]; ok || untrusted["X-Forwarded-For"] != "198.51.100.1" || untrusted["X-Trace"] != "kept" {
		t.Errorf("untrusted peer: %v", untrusted)
	}
	for _, k := range proxycache.OverrideHeaders {
		if v, ok := untrusted[k]; ok {
			t.Errorf("untrusted peer: %s = %q passed", k, v)
		}
	}
	if h["X-Original-Url"] != "/wp-admin/" || h["X-Http-Method-Override"] != "DELETE" {
		t.Errorf("trusted peer: its override headers were dropped: %v", h)
	}
}

func TestProxyDown(t *testing.T) {
	t.Parallel()
	be := testutil.Echo(t)
	tb, _ := newTable(t, `[[site]]
hosts = ["a.test"]
[[site.route]]
path = "/slow"
proxy = "`+be.URL+`"
response_timeout = "200ms"
[[site.route]]
proxy = ["http://127.0.0.1:1", "http://127.0.0.1:2"]
fail_duration = "1h"
`)
	s := tb.lookup("a.test")
	if s.backendDown() {
		t.Fatal("down before any request")
	}
	resp := do(tb, "GET", "https://a.test/", "a.test")
	if b := body(t, resp); resp.StatusCode != 502 || b == "" {
		t.Errorf("backend down: %d %q", resp.StatusCode, b)
	}
	if !s.proxies[1].down() || s.proxies[0].down() || s.backendDown() {
		t.Errorf("health: route 2 down %v, route 1 down %v, site down %v", s.proxies[1].down(), s.proxies[0].down(), s.backendDown())
	}
	resp = do(tb, "GET", "https://a.test/slow", "a.test")
	if b := body(t, resp); resp.StatusCode != 504 || b == "" {
		t.Errorf("backend slow: %d %q", resp.StatusCode, b)
	}
	if !s.backendDown() {
		t.Error("every upstream failed but the site is not down")
	}
}

func TestProxyHTTPSUpstream(t *testing.T) {
	t.Parallel()
	be := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "tls upstream saw "+r.Host)
	}))
	t.Cleanup(be.Close)
	ca := filepath.Join(t.TempDir(), "upstream-ca.pem")
	testutil.WriteFile(t, ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: be.Certificate().Raw})))
	tb, _ := newTable(t, `[[site]]
hosts = ["a.test"]
[[site.route]]
path = "/trusted/"
proxy = "`+be.URL+`"
proxy_ca = "`+ca+`"
[[site.route]]
proxy = "`+be.URL+`"
`)
	resp := do(tb, "GET", "https://a.test/trusted/", "a.test")
	if b := body(t, resp); resp.StatusCode != 200 || b != "tls upstream saw a.test" {
		t.Errorf("with proxy_ca: %d %q", resp.StatusCode, b)
	}
	// The system roots do not know httptest's certificate.
	if resp = do(tb, "GET", "https://a.test/other", "a.test"); resp.StatusCode != 502 {
		t.Errorf("without proxy_ca: %d", resp.StatusCode)
	}
}

// TestStaticChanges: a file changed in place, even to the same size and
// mtime, is served anew; a large file is served from disk.
func TestStaticChanges(t *testing.T) {
	t.Parallel()
	tb, cfg := newTable(t, `[[site]]
hosts = ["a.test"]
[[site.route]]
root = "{{dir}}/www"
`)
	file := filepath.Join(filepath.Dir(cfg.File), "www/f.txt")
	testutil.WriteFile(t, file, "first")
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if b := body(t, do(tb, "GET", "https://a.test/f.txt", "a.test")); b != "first" {
		t.Fatalf("got %q", b)
	}
	testutil.WriteFile(t, file, "secnd")
	if err := os.Chtimes(file, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if b := body(t, do(tb, "GET", "https://a.test/f.txt", "a.test")); b != "secnd" {
		t.Errorf("after a same-size, same-mtime change: %q", b)
	}
	os.Remove(file)
	if resp := do(tb, "GET", "https://a.test/f.txt", "a.test"); resp.StatusCode != 404 {
		t.Errorf("after removal: %d", resp.StatusCode)
	}
	big := strings.Repeat("x", maxCachedFile) + "tail"
	testutil.WriteFile(t, filepath.Join(filepath.Dir(cfg.File), "www/big.txt"), big)
	resp := do(tb, "GET", "https://a.test/big.txt", "a.test", "Range", "bytes=-4")
	if b := body(t, resp); resp.StatusCode != 206 || b != "tail" {
		t.Errorf("large file range: %d %q", resp.StatusCode, b)
	}
	if b := body(t, do(tb, "GET", "https://a.test/big.txt", "a.test")); b != big {
		t.Errorf("large file: %d bytes", len(b))
	}
}

func TestAccessLogCombined(t *testing.T) {
	t.Parallel()
	tb, cfg := newTable(t, `[[site]]
hosts = ["a.test"]
access_log = "{{dir}}/access.log"
[[site.route]]
respond = "hello"
status = 202
`)
	do(tb, "GET", "https://a.test/x?y=1", "a.test", "User-Agent", "evil\"\n1.2.3.4 - - [forged]", "Referer", "https://r.test/")
	tb.Close()
	b, err := os.ReadFile(filepath.Join(filepath.Dir(cfg.File), "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	line := string(b)
	re := regexp.MustCompile(`^192\.0\.2\.7 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET (https://a\.test)?/x\?y=1 HTTP/1\.1" 202 5 "https://r\.test/" "evil\\"\\x0a1\.2\.3\.4 - - \[forged\]"\n$`)
	if !re.MatchString(line) {
		t.Errorf("access log line:\n%q", line)
	}
}

func TestRoutesShareUpstreamHealth(t *testing.T) {
	t.Parallel()
	tb, _ := newTable(t, `[[site]]
hosts = ["a.test"]
[[site.route]]
path = "/wp-admin/"
proxy = "http://127.0.0.1:1"
[[site.route]]
proxy = "http://127.0.0.1:1"
fail_duration = "1h"
`)
	s := tb.lookup("a.test")
	if resp := do(tb, "GET", "https://a.test/", "a.test"); resp.StatusCode != 502 {
		t.Fatalf("dead backend: %d", resp.StatusCode)
	}
	if !s.proxies[0].down() || !s.backendDown() {
		t.Error("the backend failed on one route but another route still counts it up")
	}
}

// TestManyRangesIgnored: up to maxRanges ranges get a multipart 206; more
// get the whole file (200), not a part header per byte asked for.
func TestManyRangesIgnored(t *testing.T) {
	t.Parallel()
	tb, cfg := newTable(t, "[[site]]\nhosts = [\"a.test\"]\n[[site.route]]\nroot = \"{{dir}}/www\"\n")
	testutil.WriteFile(t, filepath.Join(filepath.Dir(cfg.File), "www/f.txt"), strings.Repeat("0123456789", 100))
	ranges := func(n int) string {
		var parts []string
		for i := range n {
			parts = append(parts, fmt.Sprintf("%d-%d", i*10, i*10))
		}
		return "bytes=" + strings.Join(parts, ",")
	}
	if resp := do(tb, "GET", "https://a.test/f.txt", "a.test", "Range", ranges(maxRanges)); resp.StatusCode != 206 {
		t.Errorf("%d ranges: %d, want 206", maxRanges, resp.StatusCode)
	}
	resp := do(tb, "GET", "https://a.test/f.txt", "a.test", "Range", ranges(maxRanges+1))
	if b := body(t, resp); resp.StatusCode != 200 || len(b) != 1000 {
		t.Errorf("%d ranges: %d with %d bytes, want the whole file", maxRanges+1, resp.StatusCode, len(b))
	}
}
