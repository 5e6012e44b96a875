package admin

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bartleby/internal/config"
)

var ops = map[string]string{"ops": "correct horse battery staple"}

func TestLoginRequired(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, opts{users: ops})
	c := s.client("127.0.0.1")
	res := c.get("/?x=1")
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/login?next="+url.QueryEscape("/?x=1") {
		t.Errorf("redirect to %q", loc)
	}
	// What needs no login.
	wantStatus(t, c.get("/static/style.css"), http.StatusOK)
	wantStatus(t, c.get("/healthz"), http.StatusOK)
	wantStatus(t, c.get("/login"), http.StatusOK)
}

func TestLoginSuccess(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, opts{users: ops})
	c := s.client("127.0.0.1")
	page := c.get("/login?next=/queue")
	if !strings.Contains(page.body, "<h1>Log in to test.example</h1>") {
		t.Errorf("the login page does not name the host:\n%s", page.body)
	}
	res := c.post("/login", url.Values{"csrf": {csrf(t, page.body)}, "user": {"ops"}, "password": {ops["ops"]}, "next": {"/queue"}})
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/queue" {
		t.Errorf("after login, redirect to %q, want /queue", loc)
	}
	ck := c.cookies[sessionCookie]
	if ck == nil || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || len(ck.Value) != 43 {
		t.Fatalf("session cookie %+v, want Secure, HttpOnly, SameSite=Strict, 256 bits", ck)
	}
	home := c.get("/")
	wantStatus(t, home, http.StatusOK)
	if !strings.Contains(home.body, "<span>ops</span>") || !strings.Contains(home.body, `action="/logout"`) {
		t.Errorf("home page does not show the user and logout:\n%s", home.body)
	}
	logs := s.logs.String()
	if !strings.Contains(logs, `msg="admin login"`) || !strings.Contains(logs, "user=ops") || !strings.Contains(logs, "ip=127.0.0.1") {
		t.Errorf("login not logged with user and ip:\n%s", logs)
	}
	// A logged-in user asking for the form goes where they wanted.
	wantStatus(t, c.get("/login"), http.StatusSeeOther)

	// Logout ends the session on the server, not only in this browser.
	stolen := *ck
	wantStatus(t, c.post("/logout", url.Values{"csrf": {csrf(t, home.body)}}), http.StatusSeeOther)
	if c.cookies[sessionCookie] != nil {
		t.Error("logout left the session cookie")
	}
	thief := s.client("127.0.0.1")
	thief.cookies[sessionCookie] = &stolen
	wantStatus(t, thief.get("/"), http.StatusSeeOther)
}

func TestLoginFailure(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, opts{users: ops})
	for _, tc := range []struct{ user, password string }{
		{"ops", "wrong"},
		{"ops", ""},
		{"nobody", ops["ops"]},
		{"", ""},
		{"ops", ops["ops"] + strings.Repeat("x", 80)},
	} {
		c := s.client("127.0.0.1")
		page := c.get("/login")
		res := c.post("/login", url.Values{"csrf": {csrf(t, page.body)}, "user": {tc.user}, "password": {tc.password}})
		wantStatus(t, res, http.StatusUnauthorized)
		if c.cookies[sessionCookie] != nil {
			t.Errorf("%q/%q: got a session", tc.user, tc.password)
		}
		if !strings.Contains(res.body, "Wrong user name or password.") {
			t.Errorf("%q/%q: no error on the form:\n%s", tc.user, tc.password, res.body)
		}
		wantStatus(t, c.get("/"), http.StatusSeeOther)
		s.limit = newLimiter() // these are not about the limit
	}
	logs := s.logs.String()
	if !strings.Contains(logs, "admin login failed") || !strings.Contains(logs, "user=nobody") {
		t.Errorf("failures not logged:\n%s", logs)
	}
	if strings.Contains(logs, "wrong") || strings.Contains(logs, "horse") {
		t.Errorf("a password is in the log:\n%s", logs)
	}
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, opts{users: ops, allow: []string{"127.0.0.0/8", "2001:db8::/32"}})
	c := s.client("127.0.0.1")
	try := func(c *client, password string) response {
		page := c.get("/login")
		return c.post("/login", url.Values{"csrf": {csrf(t, page.body)}, "user": {"ops"}, "password": {password}})
	}
	for range loginFailures {
		wantStatus(t, try(c, "guess"), http.StatusUnauthorized)
	}
	// Now even the right password waits.
	s.clock = s.clock.Add(10 * time.Second)
	res := try(c, ops["ops"])
	wantStatus(t, res, http.StatusTooManyRequests)
	if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra != 50 {
		t.Errorf("Retry-After %q, want 50", res.Header.Get("Retry-After"))
	}
	if c.cookies[sessionCookie] != nil {
		t.Fatal("a limited attempt logged in")
	}
	// Another address is not limited.
	wantStatus(t, try(s.client("127.0.0.2"), "guess"), http.StatusUnauthorized)
	// IPv6 counts per /64.
	for range loginFailures {
		try(s.client("2001:db8:1:1::1"), "guess")
	}
	wantStatus(t, try(s.client("2001:db8:1:1::2"), ops["ops"]), http.StatusTooManyRequests)
	wantStatus(t, try(s.client("2001:db8:1:2::1"), "guess"), http.StatusUnauthorized)

	s.clock = s.clock.Add(loginWindow)
	c.login("ops", ops["ops"])
	if !strings.Contains(s.logs.String(), "too many failures") {
		t.Errorf("limited attempt not logged:\n%s", s.logs)
	}
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, opts{users: ops, ttl: "1h"})
	c := s.client("127.0.0.1")
	c.login("ops", ops["ops"])
	// Sliding: each use extends the session.
	for range 3 {
		s.clock = s.clock.Add(50 * time.Minute)
		wantStatus(t, c.get("/"), http.StatusOK)
	}
	s.clock = s.clock.Add(time.Hour)
	res := c.get("/")
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, "/login?") {
		t.Errorf("expired session sent to %q, want the login form", loc)
	}
	if c.cookies[sessionCookie] != nil {
		t.Error("expired session cookie not cleared")
	}
	// A POST with an expired session does nothing but send to the login.
	wantStatus(t, c.post("/logout", nil), http.StatusSeeOther)
}

func TestDefaultSessionTTL(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, opts{users: ops})
	c := s.client("127.0.0.1")
	c.login("ops", ops["ops"])
	s.clock = s.clock.Add(config.Defaults().Admin.SessionTTL.Duration - time.Minute)
	wantStatus(t, c.get("/"), http.StatusOK)
	s.clock = s.clock.Add(config.Defaults().Admin.SessionTTL.Duration)
	wantStatus(t, c.get("/"), http.StatusSeeOther)
}

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                     "/",
		"/queue":               "/queue",
		"/queue?x=1":           "/queue?x=1",
		"//evil.example/":      "/",
		`/\evil.example`:       "/",
		"https://evil.example": "/",
		"javascript:alert(1)":  "/",
		"queue":                "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSessionsBounded(t *testing.T) {
	t.Parallel()
	ss := newSessions(time.Hour)
	now := time.Now()
	first := ss.create("a", nil, now)
	for i := range maxSessions + 10 {
		ss.create("b", nil, now.Add(time.Duration(i+1)*time.Millisecond))
	}
	if len(ss.m) > maxSessions {
		t.Fatalf("%d sessions held, max %d", len(ss.m), maxSessions)
	}
	if ss.get(first.id, now) != nil {
		t.Error("the session closest to expiry was kept over newer ones")
	}
}

func TestLoginRateLimitParallel(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, opts{users: ops})
	const n = 20
	forms := make([]*client, n)
	for i := range forms {
		forms[i] = s.client("127.0.0.1")
		forms[i].get("/login")
	}
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for _, c := range forms {
		wg.Go(func() {
			token := s.csrfToken(c.cookies[csrfCookie].Value)
			codes <- c.post("/login", url.Values{"csrf": {token}, "user": {"ops"}, "password": {"guess"}}).StatusCode
		})
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[http.StatusUnauthorized] != loginFailures || count[http.StatusTooManyRequests] != n-loginFailures {
		t.Errorf("parallel attempts: %v, want %d checked and the rest refused", count, loginFailures)
	}
}
