package e2e

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"bartleby/internal/certs/testca"
	"bartleby/internal/testutil"
)

// e2e is the real binary serving a.test (static, alias, proxy) and
// down.test (a dead backend) on free ports, driven with curl.
type e2e struct {
	d           *testutil.Daemon
	curl        string
	http, https string
	cacert      string
	dir         string // holds www/, uploads/ and access.log
}

const e2eConfig = `[web]
http = "%s"
https = "%s"
[[site]]
hosts = ["a.test"]
hsts_subdomains = true
access_log = "{{dir}}/access.log"
access_log_format = "json"
  [[site.route]]
  path = "/wp-uploads/"
  strip_prefix = "/wp-uploads"
  root = "{{dir}}/uploads"
  [[site.route]]
  ext = ["css", "txt", "html"]
  root = "{{dir}}/www"
  cache_control = "max-age=60"
  [[site.route]]
  path = "/"
  proxy = "%s"
[[site]]
hosts = ["down.test"]
  [[site.route]]
  proxy = "http://%s"
`

func startE2E(t *testing.T, backend string) *e2e {
	t.Helper()
	e := &e2e{curl: testutil.Need(t, "curl"), http: testutil.FreePort(t), https: testutil.FreePort(t)}
	dir := t.TempDir()
	e.dir = dir
	testutil.WriteFile(t, filepath.Join(dir, "www/big.txt"), strings.Repeat("0123456789", 100))
	testutil.WriteFile(t, filepath.Join(dir, "uploads/2024/photo.txt"), "uploaded photo")
	conf := strings.ReplaceAll(fmt.Sprintf(e2eConfig, e.http, e.https, backend, testutil.FreePort(t)), "{{dir}}", dir)
	e.d = testutil.StartDaemon(t, conf)
	e.cacert = filepath.Join(e.d.StateDir, "certs/self-signed/a.test.crt")
	return e
}

// run runs curl against the daemon, resolving the test hosts to it, and
// returns the response head and body.
func (e *e2e) run(t *testing.T, args ...string) (head, body string) {
	t.Helper()
	_, hp, _ := net.SplitHostPort(e.http)
	_, sp, _ := net.SplitHostPort(e.https)
	base := []string{"-sS", "--max-time", "20", "-D", "-", "--cacert", e.cacert}
	for _, h := range []string{"a.test", "down.test", "b.test"} {
		base = append(base, "--resolve", h+":"+hp+":127.0.0.1", "--resolve", h+":"+sp+":127.0.0.1")
	}
	out, err := exec.Command(e.curl, append(base, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %v: %v\n%s", args, err, out)
	}
	head, body, _ = strings.Cut(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n\n")
	return head, body
}

func (e *e2e) url(scheme, host, path string) string {
	addr := e.https
	if scheme == "http" {
		addr = e.http
	}
	_, port, _ := net.SplitHostPort(addr)
	return scheme + "://" + host + ":" + port + path
}

func header(head, name string) string {
	for _, l := range strings.Split(head, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func status(head string) string {
	f := strings.Fields(head)
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

func TestCurl(t *testing.T) {
	t.Parallel()
	be := testutil.Echo(t)
	e := startE2E(t, be.URL)

	t.Run("static with Range and If-None-Match over HTTP/2", func(t *testing.T) {
		head, body := e.run(t, "--http2", e.url("https", "a.test", "/big.txt"))
		if status(head) != "200" || len(body) != 1000 || !strings.HasPrefix(head, "HTTP/2") ||
			header(head, "Cache-Control") != "max-age=60" || header(head, "Content-Type") != "text/plain; charset=utf-8" {
			t.Fatalf("%s\n%d bytes", head, len(body))
		}
		if hsts := header(head, "Strict-Transport-Security"); hsts != "max-age=31536000; includeSubDomains" {
			t.Errorf("HSTS %q", hsts)
		}
		etag := header(head, "ETag")
		head, body = e.run(t, "-r", "10-14", e.url("https", "a.test", "/big.txt"))
		if status(head) != "206" || body != "01234" || header(head, "Content-Range") != "bytes 10-14/1000" {
			t.Errorf("range: %s\n%q", head, body)
		}
		head, body = e.run(t, "-H", "If-None-Match: "+etag, e.url("https", "a.test", "/big.txt"))
		if status(head) != "304" || body != "" {
			t.Errorf("If-None-Match %s: %s", etag, head)
		}
	})

	t.Run("wp-uploads alias", func(t *testing.T) {
		head, body := e.run(t, e.url("https", "a.test", "/wp-uploads/2024/photo.txt"))
		if status(head) != "200" || body != "uploaded photo" {
			t.Errorf("%s\n%q", head, body)
		}
		head, _ = e.run(t, "--path-as-is", e.url("https", "a.test", "/wp-uploads/../www/big.txt"))
		if status(head) != "400" {
			t.Errorf("traversal: %s", head)
		}
	})

	t.Run("proxy replaces a spoofed X-Forwarded-For", func(t *testing.T) {
		head, body := e.run(t, "-H", "X-Forwarded-For: 6.6.6.6", "-H", "X-Real-IP: 6.6.6.6", e.url("https", "a.test", "/app/x?y=1"))
		for _, want := range []string{`"X-Forwarded-For":"127.0.0.1"`, `"X-Real-Ip":"127.0.0.1"`, `"X-Forwarded-Proto":"https"`,
			`"X-Forwarded-Host":"a.test:`, `"Host":"a.test:`, `"Path":"/app/x?y=1"`} {
			if !strings.Contains(body, want) {
				t.Errorf("backend saw %s, missing %s (%s)", body, want, head)
			}
		}
		if strings.Contains(body, "6.6.6.6") {
			t.Errorf("spoofed address reached the backend: %s", body)
		}
	})

	t.Run("backend down gives the 502 page", func(t *testing.T) {
		cacert := e.cacert
		e.cacert = filepath.Join(e.d.StateDir, "certs/self-signed/down.test.crt")
		defer func() { e.cacert = cacert }()
		head, body := e.run(t, e.url("https", "down.test", "/"))
		if status(head) != "502" || !strings.Contains(body, "</html>") || !strings.Contains(body, "down.test") {
			t.Errorf("%s\n%s", head, body)
		}
	})

	t.Run("HTTP redirects to HTTPS, unknown hosts get nothing", func(t *testing.T) {
		head, _ := e.run(t, "-X", "POST", e.url("http", "a.test", "/form?x=1"))
		if status(head) != "308" || header(head, "Location") != e.url("https", "a.test", "/form?x=1") {
			t.Errorf("%s", head)
		}
		head, body := e.run(t, e.url("http", "b.test", "/"))
		if status(head) != "404" || strings.Contains(body, "uploaded") {
			t.Errorf("unknown host over HTTP: %s", head)
		}
		head, _ = e.run(t, "-k", "-H", "Host: b.test", e.url("https", "a.test", "/big.txt"))
		if status(head) != "421" {
			t.Errorf("Host differing from SNI: %s", head)
		}
	})

	t.Run("access log", func(t *testing.T) {
		e.run(t, "-e", "https://ref.test/page", e.url("https", "a.test", "/app/logged"))
		b, err := os.ReadFile(filepath.Join(e.dir, "access.log"))
		if err != nil || !strings.Contains(string(b), `"uri":"/wp-uploads/2024/photo.txt","proto":"HTTP/2.0","status":200`) {
			t.Errorf("access log: %v\n%s", err, b)
		}
		// A proxied request names its site, referer and upstream, and the
		// upstream's time; a static one has no upstream.
		var proxied, static map[string]any
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("access log line %q: %v", l, err)
			}
			switch m["uri"] {
			case "/app/logged":
				proxied = m
			case "/big.txt":
				static = m
			}
		}
		backend := strings.TrimPrefix(be.URL, "http://")
		if up, _ := proxied["upstream_ms"].(float64); proxied["site"] != "a.test" || proxied["referer"] != "https://ref.test/page" ||
			proxied["upstream"] != backend || up <= 0 || up > proxied["duration_ms"].(float64) {
			t.Errorf("proxied request logged as %v, want site, referer, upstream %s and its time", proxied, backend)
		}
		if _, ok := static["upstream"]; ok || static["site"] != "a.test" {
			t.Errorf("static request logged as %v", static)
		}
	})
}

// TestCurlReloadUnderLoad sends SIGHUP with a changed route while 4 clients
// send 2000 requests; none may fail.
func TestCurlReloadUnderLoad(t *testing.T) {
	t.Parallel()
	be := testutil.Echo(t)
	e := startE2E(t, be.URL)
	conf, err := os.ReadFile(e.d.Config)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 4, ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{ServerName: "a.test", InsecureSkipVerify: true}} // self-signed
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	url := "https://" + e.https + "/big.txt"
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				req, _ := http.NewRequest("GET", url, nil)
				req.Host = "a.test"
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != 200 {
					mu.Lock()
					failures = append(failures, fmt.Sprint(err, resp))
					mu.Unlock()
				}
			}
		}()
	}
	for i := range 3 {
		changed := strings.ReplaceAll(string(conf), "/wp-uploads", fmt.Sprintf("/up%d", i))
		if err := os.WriteFile(e.d.Config, []byte(changed), 0o600); err != nil {
			t.Fatal(err)
		}
		before := strings.Count(e.d.Logs(), "config reloaded")
		e.d.Signal(syscall.SIGHUP)
		testutil.Eventually(t, 20*time.Second, fmt.Sprintf("reload %d", i), func() error {
			if strings.Count(e.d.Logs(), "config reloaded") == before {
				return errors.New("not logged as done")
			}
			return nil
		})
		head, body := e.run(t, e.url("https", "a.test", fmt.Sprintf("/up%d/2024/photo.txt", i)))
		if status(head) != "200" || body != "uploaded photo" {
			t.Errorf("reload %d: the new route does not answer: %s %q", i, head, body)
		}
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Errorf("%d failed requests during reloads, first: %s", len(failures), failures[0])
	}
}

// TestCurlACME gets a site's certificate from Pebble over HTTP-01 on the
// web part's HTTP listener, and curl verifies it with Pebble's root.
func TestCurlACME(t *testing.T) {
	t.Parallel()
	curl := testutil.Need(t, "curl")
	httpAddr, httpsAddr := testutil.FreePort(t), testutil.FreePort(t)
	_, httpPort, _ := net.SplitHostPort(httpAddr)
	port, _ := strconv.Atoi(httpPort)
	p := testca.StartPebble(t, testca.PebbleOptions{DNS: testca.StartDNS(t), HTTPPort: port})
	d := testutil.StartDaemon(t, fmt.Sprintf(`[acme]
directory = %q
ca_root = %q
challenges = ["http-01"]
[web]
http = %q
https = %q
[[site]]
hosts = ["site.test"]
acme_email = "ops@site.test"
  [[site.route]]
  respond = "hello over a real certificate"
`, p.Dir, p.CAFile, httpAddr, httpsAddr))
	root := filepath.Join(d.Dir, "pebble-root.pem")
	if err := os.WriteFile(root, p.RootPEM(t), 0o600); err != nil {
		t.Fatal(err)
	}
	_, httpsPort, _ := net.SplitHostPort(httpsAddr)
	var out []byte
	testutil.Eventually(t, time.Minute, "curl to verify the certificate from Pebble", func() error {
		var err error
		out, err = exec.Command(curl, "-sS", "--max-time", "10", "--cacert", root,
			"--resolve", "site.test:"+httpsPort+":127.0.0.1", "https://site.test:"+httpsPort+"/").CombinedOutput()
		return err
	})
	if string(out) != "hello over a real certificate" {
		t.Errorf("curl: %q", out)
	}
}
