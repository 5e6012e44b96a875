package web

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bartleby/internal/web/maint"
)

// rawBackend is an upstream on a raw socket that records exactly the bytes
// it receives, and the target of every request it reads in them, and
// answers each request with answer.
type rawBackend struct {
	ln      net.Listener
	answer  string
	mu      sync.Mutex
	got     bytes.Buffer
	targets []string
}

func newRawBackend(t *testing.T, answer string) *rawBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &rawBackend{ln: ln, answer: answer}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go b.serve(c)
		}
	}()
	return b
}

func (b *rawBackend) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(io.TeeReader(c, b))
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		b.mu.Lock()
		b.targets = append(b.targets, req.RequestURI)
		b.mu.Unlock()
		if _, err := io.WriteString(c, b.answer); err != nil {
			return
		}
		if strings.Contains(b.answer, " 101 ") { // a tunnel: echo what comes
			io.Copy(c, br)
			return
		}
	}
}

func (b *rawBackend) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.got.Write(p)
}

func (b *rawBackend) received() (raw string, targets []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.got.String(), append([]string(nil), b.targets...)
}

func (b *rawBackend) url() string { return "http://" + b.ln.Addr().String() }

// send writes req on a fresh connection with a 5 s deadline, closed when
// the test ends.
func send(t *testing.T, addr, req string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	return c
}

// exchange writes req on a fresh connection and reads until the server
// closes it (or 5 s pass, which the caller sees as "still open").
func exchange(t *testing.T, addr, req string) (resp string, closed bool) {
	t.Helper()
	b, err := io.ReadAll(send(t, addr, req))
	return string(b), err == nil
}

// proxiedSite is the plain-HTTP site a.test proxying everything to a raw
// backend answering "ok", with extra appended to its config.
func proxiedSite(t *testing.T, extra string) (*rawBackend, *running) {
	t.Helper()
	be := newRawBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	return be, startWeb(t, `[[site]]
hosts = ["a.test"]
https = "off"
[[site.route]]
proxy = "`+be.url()+`"
`+extra)
}

// TestSmuggling sends a request with both Content-Length and
// Transfer-Encoding, in every spelling, whose Content-Length covers a
// second request: bartleby must answer the first, close, and never pass
// the second to the upstream.
func TestSmuggling(t *testing.T) {
	t.Parallel()
	be, rn := proxiedSite(t, "")
	const smuggled = "GET /smuggled HTTP/1.1\r\nHost: a.test\r\n\r\n"
	body := "0\r\n\r\n" + smuggled
	cl := "Content-Length: " + strconv.Itoa(len(body)) + "\r\n"
	for name, te := range map[string]string{
		"plain":     "Transfer-Encoding: chunked\r\n",
		"spaces":    "Transfer-Encoding:  chunked \r\n",
		"upper":     "Transfer-Encoding: CHUNKED\r\n",
		"obs-fold":  "Transfer-Encoding:\r\n chunked\r\n",
		"tab":       "Transfer-Encoding:\tchunked\r\n",
		"duplicate": "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
		"list":      "Transfer-Encoding: identity, chunked\r\n",
	} {
		for _, order := range []string{cl + te, te + cl} {
			for _, proto := range []string{"HTTP/1.1", "HTTP/1.0"} {
				req := "POST /first " + proto + "\r\nHost: a.test\r\nConnection: keep-alive\r\n" + order + "\r\n" + body
				resp, closed := exchange(t, rn.http, req)
				if !closed {
					t.Errorf("%s %s: connection left open after %.60q", name, proto, resp)
				}
				if strings.Count(resp, "HTTP/1.") != 1 {
					t.Errorf("%s %s: want exactly one response, got %q", name, proto, resp)
				}
				if ok := strings.Contains(resp, " 200 OK"); ok && !strings.Contains(resp, "Connection: close") {
					t.Errorf("%s %s: answered without Connection: close: %q", name, proto, resp)
				}
			}
		}
	}
	got, targets := be.received()
	if slices.Contains(targets, "/smuggled") || !slices.Contains(targets, "/first") {
		t.Errorf("the upstream read requests for %q, want /first only, from:\n%s", targets, got)
	}
}

// TestUpgradeOnlyOnWebSocketRoutes: an upstream that answers every request
// with 101 becomes a tunnel only on a route with websocket = true, and
// only for Upgrade: websocket.
func TestUpgradeOnlyOnWebSocketRoutes(t *testing.T) {
	t.Parallel()
	named := newRawBackend(t, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	unnamed := newRawBackend(t, "HTTP/1.1 101 Switching Protocols\r\n\r\n")
	rn := startWeb(t, `[[site]]
hosts = ["a.test"]
https = "off"
[[site.route]]
path = "/ws/"
proxy = "`+named.url()+`"
websocket = true
[[site.route]]
path = "/unnamed/"
proxy = "`+unnamed.url()+`"
[[site.route]]
proxy = "`+named.url()+`"
[site.maintenance]
exempt = ["/ws/", "/unnamed/", "/plain"]
`)
	// Exempt paths during maintenance follow their route's rule too.
	if _, err := rn.w.maint.On(maint.Mode{Site: "a.test", Who: "test"}); err != nil {
		t.Fatal(err)
	}
	const up = " HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\nUpgrade: "
	tests := []struct{ req, want string }{
		{"GET /ws/x" + up + "websocket\r\n\r\n", "HTTP/1.1 101 Switching Protocols"},
		{"GET /ws/h2c" + up + "h2c\r\n\r\n", "HTTP/1.1 502 Bad Gateway"},
		{"GET /plain" + up + "websocket\r\n\r\n", "HTTP/1.1 502 Bad Gateway"},
		{"GET /unnamed/x" + up + "websocket\r\n\r\n", "HTTP/1.1 502 Bad Gateway"},
		{"GET /unnamed/y HTTP/1.1\r\nHost: a.test\r\n\r\n", "HTTP/1.1 502 Bad Gateway"},
	}
	for _, tt := range tests {
		if got := tunnel(t, rn.http, tt.req); got != tt.want {
			t.Errorf("%.30q: got %q, want %q", tt.req, got, tt.want)
		}
	}
	raw, targets := named.received()
	if len(targets) != 3 || strings.Count(strings.ToLower(raw), "upgrade: ") != 1 {
		t.Errorf("the upstream got %q; only /ws/x may carry an Upgrade:\n%s", targets, raw)
	}
}

// TestBadTargets: path parameters, absolute-form targets and CONNECT,
// during maintenance with /public/ exempt; ACME challenges are not exempt
// without [acme].
func TestBadTargets(t *testing.T) {
	t.Parallel()
	be, rn := proxiedSite(t, "[site.maintenance]\nexempt = [\"/public/\"]\n")
	if _, err := rn.w.maint.On(maint.Mode{Site: "a.test", Who: "test"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ req, want string }{
		{"GET /public/..;/admin HTTP/1.1\r\nHost: a.test\r\n\r\n", "HTTP/1.1 400"},
		{"GET /public/..%3b/admin HTTP/1.1\r\nHost: a.test\r\n\r\n", "HTTP/1.1 400"},
		{"GET /public;x/admin HTTP/1.1\r\nHost: a.test\r\n\r\n", "HTTP/1.1 400"},
		// absolute form: the target's host chooses the site (RFC 9112
		// §3.2.2), the Host header is ignored, so b.test is unknown here.
		{"GET http://b.test/x HTTP/1.1\r\nHost: a.test\r\n\r\n", "HTTP/1.1 404"},
		{"CONNECT a.test:80 HTTP/1.1\r\nHost: a.test\r\n\r\n", "HTTP/1.1 405"},
		{"TRACE /public/x HTTP/1.1\r\nHost: a.test\r\n\r\n", "HTTP/1.1 405"},
		{"TRACK /public/x HTTP/1.1\r\nHost: a.test\r\n\r\n", "HTTP/1.1 405"},
		{"GET http://a.test/public/ok HTTP/1.1\r\nHost: b.test\r\n\r\n", "HTTP/1.1 200"},
		{"GET /.well-known/acme-challenge/x HTTP/1.1\r\nHost: a.test\r\n\r\n", "HTTP/1.1 503"},
	}
	for _, tt := range tests {
		if got := raw(t, rn.http, tt.req); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%.60q: %q, want %q", tt.req, got, tt.want)
		}
	}
	if raw, targets := be.received(); !slices.Equal(targets, []string{"/public/ok"}) || strings.Contains(raw, "b.test") {
		t.Errorf("the upstream got %q:\n%s", targets, raw)
	}
}

// tunnel sends req and returns the status line; after a 101 it checks
// that the connection has become a tunnel to the echoing upstream.
func tunnel(t *testing.T, addr, req string) string {
	t.Helper()
	c := send(t, addr, req)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%.30q: %v", req, err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		io.WriteString(c, "ping")
		echo := make([]byte, 4)
		if _, err := io.ReadFull(br, echo); err != nil || string(echo) != "ping" {
			t.Errorf("%.30q: no tunnel after 101: %q, %v", req, echo, err)
		}
	}
	return "HTTP/1.1 " + resp.Status
}

// TestRouteRulesNotDodged: a locked prefix stays locked however the path
// is spelled, when the backend could read the spelling as the same place
// (case, the directory without its slash, dot segments, doubled and
// encoded slashes, absolute form).
func TestRouteRulesNotDodged(t *testing.T) {
	t.Parallel()
	be := newRawBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	rn := startWeb(t, `[[site]]
hosts = ["a.test"]
https = "off"
[[site.route]]
path = "/wp-admin/"
deny = ["0.0.0.0/0", "::/0"]
proxy = "`+be.url()+`"
[[site.route]]
proxy = "`+be.url()+`"
`)
	for _, target := range []string{"/wp-admin/", "/wp-admin", "/WP-ADMIN/", "/Wp-Admin/users.php", "/wp-admin/.",
		"//wp-admin/", "/./wp-admin/x", "/wp-admin%2fx", "/%77p-admin/", "/WP-ADMIN", "http://a.test/WP-admin/x",
		"/wp-admin./", "/wp-admin%20/", "/wp-admin.%20./x", "/wp-admin."} {
		req := "GET " + target + " HTTP/1.1\r\nHost: a.test\r\n\r\n"
		if got := raw(t, rn.http, req); !strings.HasPrefix(got, "HTTP/1.1 403") && !strings.HasPrefix(got, "HTTP/1.1 400") {
			t.Errorf("%s: %q, want 403", target, got)
		}
	}
	if got := raw(t, rn.http, "GET /wp-adminx HTTP/1.1\r\nHost: a.test\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 200") {
		t.Errorf("/wp-adminx is not under /wp-admin/: %q", got)
	}
	if _, targets := be.received(); !slices.Equal(targets, []string{"/wp-adminx"}) {
		t.Errorf("the upstream got %q", targets)
	}
}
