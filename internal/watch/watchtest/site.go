// Package watchtest is what the watch tests share: a web site on loopback
// for scenarios to browse, and feature files written for it.
package watchtest

import (
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pageLimit is what a scenario reads of a page: /huge is larger.
const pageLimit = 4 << 20

// Site is a small web site on loopback with every thing the steps meet:
// links, a login form, a search form, a slow page, a redirect loop, a huge
// page. It is served over HTTPS with a test CA (Pool) and, separately, the
// same handler is reachable over plain HTTP.
type Site struct {
	TLS   *httptest.Server
	Plain *httptest.Server
	Pool  *x509.CertPool
	Base  *url.URL // the HTTPS server's
}

// NewSite starts the site; it stops when the test ends.
func NewSite(t testing.TB) *Site {
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
		for range (pageLimit / len(chunk)) + 256 {
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
	s := &Site{TLS: tlsSrv, Plain: httptest.NewServer(mux)}
	t.Cleanup(s.TLS.Close)
	t.Cleanup(s.Plain.Close)
	s.Pool = x509.NewCertPool()
	s.Pool.AddCert(s.TLS.Certificate())
	s.Base, _ = url.Parse(s.TLS.URL)
	return s
}

// AllSteps is a feature that uses every step kind against the Site.
const AllSteps = `@smoke
Feature: Test site

  Background:
    Given I go to "/"

  Scenario: Every step kind
    Then the response status should be 200
    And I should see "Welcome to the test site"
    And I should not see "Invisible"
    And the header "X-Test" should contain "hello"
    And the certificate should be valid for at least 14 days
    When I follow "Contact"
    Then the step should take less than 10s
    And I should be on "/contact"
    And the page should contain "Write to us"
    When I go to /
    And I click the link "Login page"
    And I fill in "Username" with "alice"
    And I enter "secret" into the "password" field
    And I select "French" from "Language"
    And I check "Remember me"
    And I press "Log in"
    Then I should be on /account
    And I should see "Hello alice"
    When I visit /login
    And I submit the form named "search"
    Then I should see "Results for default"
    And the URL should be /search?q=default

  Scenario Outline: Pages
    When I go to <page>
    Then I should get a <code>

    Examples:
      | page     | code |
      | /contact | 200  |
      | /gone    | 404  |
`

// WriteFeature writes text as site.feature in a fresh directory and
// returns its path.
func WriteFeature(t testing.TB, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "site.feature")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
