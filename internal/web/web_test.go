package web

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"bartleby/internal/certs"
	"bartleby/internal/config"
	"bartleby/internal/part"
	"bartleby/internal/testutil"
)

// running is a web part started in process on free loopback ports.
type running struct {
	w          *Web
	cfg        *config.Config
	http, tls  string // addresses
	client     *http.Client
	reg        prometheus.Registerer
	configText string
}

// startWeb starts the part for a config whose [web] is replaced by free
// ports. Its client dials the HTTPS listener whatever the URL's host, so
// URLs name sites.
func startWeb(t *testing.T, text string) *running {
	t.Helper()
	return startWebWith(t, text, func(*Web) {})
}

// startWebWith is startWeb with a chance to adjust the part before Start.
func startWebWith(t *testing.T, text string, adjust func(*Web)) *running {
	t.Helper()
	rn := &running{http: testutil.FreePort(t), tls: testutil.FreePort(t), reg: prometheus.NewRegistry(), configText: text}
	rn.cfg = rn.load(t, text, "")
	p, err := New(rn.env(t, rn.cfg))
	if err != nil {
		t.Fatal(err)
	}
	rn.w = p.(*Web)
	adjust(rn.w)
	if err := rn.w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rn.w.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // self-signed; the tests check SNI, not trust
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			target := rn.tls
			if strings.HasSuffix(addr, ":80") {
				target = rn.http
			}
			return (&net.Dialer{}).DialContext(ctx, network, target)
		},
		MaxIdleConnsPerHost: 8,
	}
	t.Cleanup(tr.CloseIdleConnections)
	rn.client = &http.Client{Transport: tr, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return rn
}

// load parses text with the test's listeners, in dir (a new one when "").
func (rn *running) load(t *testing.T, text, dir string) *config.Config {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
		os.MkdirAll(filepath.Join(dir, "www"), 0o755)
	}
	text = "state_dir = \"" + dir + "/state\"\n" + strings.ReplaceAll(text, "{{dir}}", dir) +
		fmt.Sprintf("\n[web]\nhttp = %q\nhttps = %q\n", rn.http, rn.tls)
	path := filepath.Join(dir, "b.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func (rn *running) env(t *testing.T, cfg *config.Config) *part.Env {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cm, err := certs.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cm.Close)
	return &part.Env{Config: cfg, Log: log, Certs: cm, Metrics: rn.reg}
}

func (rn *running) get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := rn.client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestServeHTTPS(t *testing.T) {
	t.Parallel()
	rn := startWeb(t, `[[site]]
hosts = ["a.test"]
[[site.route]]
respond = "hello"
`)
	resp, b := rn.get(t, "https://a.test/")
	if resp.StatusCode != 200 || b != "hello" || resp.ProtoMajor != 2 || resp.Header.Get("Strict-Transport-Security") != "max-age=31536000" {
		t.Errorf("%s %d %q HSTS %q", resp.Proto, resp.StatusCode, b, resp.Header.Get("Strict-Transport-Security"))
	}
	if resp.TLS == nil || resp.TLS.PeerCertificates[0].VerifyHostname("a.test") != nil {
		t.Error("the certificate is not for a.test")
	}
	resp, _ = rn.get(t, "http://a.test:80/x?y=1")
	_, port, _ := net.SplitHostPort(rn.tls)
	if resp.StatusCode != 308 || resp.Header.Get("Location") != "https://a.test:"+port+"/x?y=1" {
		t.Errorf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ = rn.get(t, "https://b.test/"); resp.StatusCode != 421 {
		t.Errorf("unknown host over HTTPS: %d", resp.StatusCode)
	}
	if got := rn.w.Addrs(); len(got) != 2 || got[1] != "https://"+rn.tls {
		t.Errorf("Addrs %v", got)
	}
}

// raw sends bytes on a fresh plain connection and returns the status line.
func raw(t *testing.T, addr, req string) string {
	t.Helper()
	line, err := bufio.NewReader(send(t, addr, req)).ReadString('\n')
	if err != nil {
		t.Fatalf("%q: %v", req, err)
	}
	return strings.TrimSpace(line)
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	rn := startWeb(t, `[[site]]
hosts = ["a.test"]
https = "off"
[[site.route]]
root = "{{dir}}/www"
`)
	dir := filepath.Dir(rn.cfg.File)
	testutil.WriteFile(t, filepath.Join(dir, "www/ok.txt"), "ok")
	testutil.WriteFile(t, filepath.Join(dir, "secret.txt"), "secret")
	tests := []struct{ req, want string }{
		{"GET /ok.txt HTTP/1.1\r\nHost: a.test\r\n\r\n", "HTTP/1.1 200 OK"},
		{"GET /../secret.txt HTTP/1.1\r\nHost: a.test\r\n\r\n", "HTTP/1.1 400 Bad Request"},
		{"GET /%2e%2e/secret.txt HTTP/1.1\r\nHost: a.test\r\n\r\n", "HTTP/1.1 400 Bad Request"},
		{"GET /%2E%2E%2fsecret.txt HTTP/1.1\r\nHost: a.test\r\n\r\n", "HTTP/1.1 400 Bad Request"},
		{"GET /ok.txt%00.png HTTP/1.1\r\nHost: a.test\r\n\r\n", "HTTP/1.1 400 Bad Request"},
		{"GET /ok.txt HTTP/1.1\r\nHost: a.test/../x\r\n\r\n", "HTTP/1.1 400 Bad Request"},
		{"GET /ok.txt HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request"},
		{"GET * HTTP/1.1\r\nHost: a.test\r\n\r\n", "HTTP/1.1 400 Bad Request"},
		{"POST /ok.txt HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "HTTP/1.1 400 Bad Request"},
		{"POST /ok.txt HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 501 Not Implemented"},
		{"GET /ok.txt HTTP/1.1\r\nHost: a.test\r\nX-Big: " + strings.Repeat("a", maxHeaderBytes+8192) + "\r\n\r\n", "HTTP/1.1 431 Request Header Fields Too Large"},
	}
	for _, tt := range tests {
		if got := raw(t, rn.http, tt.req); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%.80q: %q, want %q", tt.req, got, tt.want)
		}
	}
}

// TestReloadUnderLoad swaps the routes while 4 clients send 2000 requests:
// none may fail, and the new route answers once the reload returns.
func TestReloadUnderLoad(t *testing.T) {
	t.Parallel()
	const text = `[[site]]
hosts = ["a.test"]
[[site.route]]
respond = "%s"
`
	rn := startWeb(t, fmt.Sprintf(text, "v0"))
	dir := filepath.Dir(rn.cfg.File)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				resp, err := rn.client.Get("https://a.test/")
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	for i := 1; i <= 5; i++ {
		cfg := rn.load(t, fmt.Sprintf(text, fmt.Sprintf("v%d", i)), dir)
		if err := rn.w.Reload(rn.env(t, cfg)); err != nil {
			t.Fatal(err)
		}
		if _, b := rn.get(t, "https://a.test/"); b != fmt.Sprintf("v%d", i) {
			t.Errorf("after reload %d: %q", i, b)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	moved := rn.load(t, fmt.Sprintf(text, "x"), dir)
	moved.Web.HTTP = "127.0.0.1:1"
	if err := rn.w.Reload(rn.env(t, moved)); err == nil || !strings.Contains(err.Error(), "restart") {
		t.Errorf("listener change: %v", err)
	}
}

// TestProxyStreams: a WebSocket upgrade passes through both ways, and an
// event stream reaches the client event by event.
func TestProxyStreams(t *testing.T) {
	t.Parallel()
	sent := make(chan struct{})
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "websocket" {
			c, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			brw.Flush()
			line, _ := brw.ReadString('\n')
			brw.WriteString("echo " + line)
			brw.Flush()
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: first\n\n")
		http.NewResponseController(w).Flush()
		<-sent // the client has the first event before the stream ends
		io.WriteString(w, "data: second\n\n")
	}))
	t.Cleanup(be.Close)
	rn := startWeb(t, `[[site]]
hosts = ["a.test"]
https = "off"
[[site.route]]
proxy = "`+be.URL+`"
websocket = true
`)
	c, err := net.Dial("tcp", rn.http)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	io.WriteString(c, "ping\n")
	if line, err := br.ReadString('\n'); line != "echo ping\n" {
		t.Errorf("through the upgraded connection: %q %v", line, err)
	}

	resp, err = rn.client.Get("http://a.test:80/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := bufio.NewReader(resp.Body)
	if line, err := events.ReadString('\n'); line != "data: first\n" {
		t.Fatalf("first event: %q %v", line, err)
	}
	close(sent)
	rest, _ := io.ReadAll(events)
	if string(rest) != "\ndata: second\n\n" {
		t.Errorf("rest of the stream: %q", rest)
	}
}

// TestSlowloris: a client that never finishes its headers is cut off.
func TestSlowloris(t *testing.T) {
	t.Parallel()
	rn := startWebWith(t, `[[site]]
hosts = ["a.test"]
[[site.route]]
respond = "x"
`, func(w *Web) { w.headerTimeout = 200 * time.Millisecond })
	c, err := net.Dial("tcp", rn.http)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a.test\r\nX-Slow: ")
	// The server closes the connection (possibly after a 408); a read
	// deadline is the only other way out, and it fails the test.
	_, err = io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the half-sent request was never cut off")
	}
}

// TestSlowBody: a body that stops coming is cut off after the idle
// timeout, on HTTP/1.1 and on HTTP/2; the upstream gets no request that
// hangs, and a body that keeps coming in time passes whole.
func TestSlowBody(t *testing.T) {
	t.Parallel()
	be := newRawBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	rn := startWebWith(t, `[[site]]
hosts = ["a.test"]
[[site.route]]
proxy = "`+be.url()+`"
`, func(w *Web) { w.bodyTimeout = 300 * time.Millisecond })
	// HTTP/1.1 on the plain listener: https = "always" redirects, so
	// the body is sent over TLS below; here a POST with 1 of 10 bytes.
	conn, err := tls.Dial("tcp", rn.tls, &tls.Config{InsecureSkipVerify: true, ServerName: "a.test", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(conn, "POST /up HTTP/1.1\r\nHost: a.test\r\nContent-Length: 10\r\n\r\nx")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
		t.Errorf("a stalled body got %s, close %v", resp.Status, resp.Close)
	}
	// HTTP/2: a stream whose body stalls is answered too.
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write([]byte("x"))
	req, _ := http.NewRequest("POST", "https://a.test/up2", pr)
	req.ContentLength = 10
	resp, err = rn.client.Do(req)
	if err != nil {
		t.Fatalf("HTTP/2 stalled body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || resp.ProtoMajor != 2 {
		t.Errorf("HTTP/2 stalled body: %s %s", resp.Proto, resp.Status)
	}
	// A body that arrives in time passes.
	resp, err = rn.client.Post("https://a.test/whole", "text/plain", strings.NewReader("0123456789"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("a whole body: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, targets := be.received(); !slices.Contains(targets, "/whole") {
		t.Errorf("the upstream got %q", targets)
	}
}

// TestSlowReader: a client that stops reading an endless proxied answer is
// cut off, and so is the upstream's connection; a file larger than the
// socket buffers goes whole to a client that reads; a WebSocket tunnel
// quiet for longer than the timeout still carries data.
func TestSlowReader(t *testing.T) {
	t.Parallel()
	upstreamCut := make(chan struct{})
	up := testutil.StartUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				close(upstreamCut)
				return
			}
		}
	}))
	h2Cut := make(chan struct{})
	up2 := testutil.StartUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/late" { // a long poll: quiet for five timeouts
			time.Sleep(time.Second)
			io.WriteString(w, "late")
			return
		}
		chunk := make([]byte, 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				close(h2Cut)
				return
			}
		}
	}))
	ws := newRawBackend(t, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	rn := startWebWith(t, `[[site]]
hosts = ["h.test"]
[[site.route]]
proxy = "`+up2.URL+`"
[[site]]
hosts = ["a.test"]
https = "off"
[[site.route]]
path = "/ws/"
proxy = "`+ws.url()+`"
websocket = true
[[site.route]]
path = "/files/"
strip_prefix = "/files"
root = "{{dir}}"
[[site.route]]
proxy = "`+up.URL+`"
`, func(w *Web) { w.sendTimeout = 200 * time.Millisecond })
	send(t, rn.http, "GET /endless HTTP/1.1\r\nHost: a.test\r\n\r\n") // and never read
	select {
	case <-upstreamCut:
	case <-time.After(30 * time.Second):
		t.Fatal("the upstream still sends to a client that stopped reading")
	}

	// HTTP/2: a stream whose client grants no more window is reset; a
	// quiet stream is not.
	resp, err := rn.client.Get("https://h.test/late")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); resp.ProtoMajor != 2 || string(b) != "late" {
		t.Errorf("a quiet HTTP/2 stream: %s %q", resp.Proto, b)
	}
	resp.Body.Close()
	resp, err = rn.client.Get("https://h.test/endless") // its body never read
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	select {
	case <-h2Cut:
	case <-time.After(30 * time.Second):
		t.Fatal("the upstream still sends to an HTTP/2 client that stopped reading")
	}

	big := strings.Repeat("0123456789abcdef", 1<<20) // 16 MiB, sent in sendChunk pieces
	testutil.WriteFile(t, filepath.Join(filepath.Dir(rn.cfg.File), "big.bin"), big)
	req, _ := http.NewRequest("GET", "http://"+rn.http+"/files/big.bin", nil)
	req.Host = "a.test"
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || len(b) != len(big) {
		t.Errorf("a 16 MiB file: %d bytes, %v", len(b), err)
	}

	c := send(t, rn.http, "GET /ws/x HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	br := bufio.NewReader(c)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	time.Sleep(time.Second) // five timeouts of silence
	io.WriteString(c, "ping")
	echo := make([]byte, 4)
	if _, err := io.ReadFull(br, echo); err != nil || string(echo) != "ping" {
		t.Errorf("a quiet tunnel was cut: %q, %v", echo, err)
	}
}

// TestFirstFailureGetsMaintenancePage: with when_backend_down, the request
// that finds the upstream dead (the proxy's first try, or its retry after
// fail_duration) gets the maintenance page, through a cache without an
// entry too, as the requests after it; without when_backend_down the 502.
func TestFirstFailureGetsMaintenancePage(t *testing.T) {
	t.Parallel()
	rn := startWeb(t, `[[site]]
hosts = ["cached.test"]
https = "off"
[[site.route]]
proxy = "http://127.0.0.1:1"
cache = "1m"
  [site.maintenance]
  when_backend_down = true
[[site]]
hosts = ["plain.test"]
https = "off"
[[site.route]]
proxy = "http://127.0.0.1:1"
  [site.maintenance]
  when_backend_down = true
[[site]]
hosts = ["nomaint.test"]
https = "off"
[[site.route]]
proxy = "http://127.0.0.1:1"
`)
	for _, u := range []string{"http://cached.test:80/", "http://plain.test:80/", "http://plain.test:80/"} {
		resp, err := rn.client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || !strings.Contains(string(body), "Down for maintenance") {
			t.Errorf("%s: %d, want the maintenance page\n%s", u, resp.StatusCode, body)
		}
	}
	resp, err := rn.client.Get("http://nomaint.test:80/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 502 {
		t.Errorf("site without when_backend_down: %d, want 502", resp.StatusCode)
	}
}
