package watch

import (
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// testSite is a small web site on loopback with every thing the steps
// meet: links, a login form, a search form, a slow page, a redirect loop,
// a huge page. It is served over HTTPS with a test CA (pool) and,
// separately, the same handler is reachable over plain HTTP.
type testSite struct {
	tls   *httptest.Server
	plain *httptest.Server
	pool  *x509.CertPool
}

func newTestSite(t testing.TB) *testSite {
	mux := http.NewServeMux()
	page := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><html><head><title>Test</title><style>.x{}</style></head><body>%s</body></html>", body)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Test", "hello world")
		page(w, `<h1>Welcome to the test site</h1><script>var hidden = "Invisible";</script>
			<a href="/contact">Contact</a> <a href="login" title="Login page"><img alt="Sign in"></a>
			<a href="/loop">Loop</a> <a href="/gone">Gone</a>`)
	})
	mux.HandleFunc("GET /contact", func(w http.ResponseWriter, r *http.Request) { page(w, `<p>Write to us at ops@example.org</p>`) })
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		page(w, `<form name="login" method="post" action="/session">
			<label for="user">Username:</label> <input id="user" name="username">
			<label>Password <input type="password" name="password"></label>
			<label for="lang">Language</label><select id="lang" name="lang"><option value="en">English</option><option value="fr">French</option></select>
			<label><input type="checkbox" name="remember"> Remember me</label>
			<input type="hidden" name="token" value="t0k">
			<input type="submit" name="go" value="Log in"> <button name="other" value="x">Other</button>
			</form>
			<form id="search" action="/search"><input name="q" value="default"></form>`)
	})
	mux.HandleFunc("POST /session", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		want := url.Values{"username": {"alice"}, "password": {"secret"}, "lang": {"fr"}, "remember": {"on"}, "token": {"t0k"}, "go": {"Log in"}}
		if r.PostForm.Encode() != want.Encode() {
			http.Error(w, "bad form: "+r.PostForm.Encode(), http.StatusBadRequest)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "alice", Path: "/"})
		http.Redirect(w, r, "/account", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("session"); err != nil || c.Value != "alice" {
			http.Error(w, "Forbidden: log in first", http.StatusForbidden)
			return
		}
		page(w, `<p>Hello alice</p>`)
	})
	mux.HandleFunc("GET /search", func(w http.ResponseWriter, r *http.Request) { page(w, "Results for "+r.URL.Query().Get("q")) })
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
		page(w, "finally")
	})
	mux.HandleFunc("GET /loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("GET /huge", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		chunk := strings.Repeat("hay ", 1024)
		for range (maxPage / len(chunk)) + 256 {
			if _, err := w.Write([]byte(chunk)); err != nil {
				return
			}
		}
		w.Write([]byte("needle"))
	})
	tlsSrv := httptest.NewUnstartedServer(mux)
	// The bad-TLS cases make the server log handshake errors: expected.
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	s := &testSite{tls: tlsSrv, plain: httptest.NewServer(mux)}
	t.Cleanup(s.tls.Close)
	t.Cleanup(s.plain.Close)
	s.pool = x509.NewCertPool()
	s.pool.AddCert(s.tls.Certificate())
	return s
}

func (s *testSite) opts() Options {
	u, _ := url.Parse(s.tls.URL)
	return Options{Base: u, Timeout: 2 * time.Second, RootCAs: s.pool}
}
