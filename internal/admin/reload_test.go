package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"bartleby/internal/part"
)

// textPage is a part page answering its own name.
func textPage(path, title string) part.AdminPage {
	return part.AdminPage{Path: path, Title: title, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "page %s for %s", title, r.URL.Path)
	})}
}

func TestReloadKeepsLoginsLimitAndCSRF(t *testing.T) {
	t.Parallel()
	o := opts{users: ops}
	s := newTestServer(t, o)
	c := s.client("127.0.0.1")
	c.login("ops", ops["ops"])
	token := csrf(t, c.get("/").body)
	attacker := s.client("127.0.0.2")
	guess := url.Values{"csrf": {csrf(t, attacker.get("/login").body)}, "user": {"ops"}, "password": {"guess"}}
	for range loginFailures {
		wantStatus(t, attacker.post("/login", guess), http.StatusUnauthorized)
	}

	if err := s.reload(o); err != nil {
		t.Fatal(err)
	}
	home := c.get("/")
	wantStatus(t, home, http.StatusOK)
	if !strings.Contains(home.body, "<span>ops</span>") {
		t.Errorf("home page after reload does not show the user:\n%s", home.body)
	}
	if csrf(t, home.body) != token {
		t.Error("the CSRF token of the session changed on reload")
	}
	wantStatus(t, attacker.post("/login", guess), http.StatusTooManyRequests)
	// A form loaded before the reload still posts.
	res := c.post("/logout", url.Values{"csrf": {token}})
	wantStatus(t, res, http.StatusSeeOther)
	wantStatus(t, c.get("/"), http.StatusSeeOther)
}

func TestReloadDropsRemovedAndChangedUsers(t *testing.T) {
	t.Parallel()
	users := map[string]string{"ops": "ops password", "dev": "dev password", "qa": "qa password"}
	s := newTestServer(t, opts{users: users})
	clients := map[string]*client{}
	for name, pw := range users {
		clients[name] = s.client("127.0.0.1")
		clients[name].login(name, pw)
	}
	// dev is removed, qa's password changes.
	if err := s.reload(opts{users: map[string]string{"ops": "ops password", "qa": "new qa password"}}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, clients["ops"].get("/"), http.StatusOK)
	for _, name := range []string{"dev", "qa"} {
		res := clients[name].get("/")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Errorf("%s after reload: %d to %q, want a 303 to the login form", name, res.StatusCode, res.Header.Get("Location"))
		}
		if clients[name].cookies[sessionCookie] != nil {
			t.Errorf("%s's session cookie was not cleared", name)
		}
	}
	if len(s.sessions.m) != 1 {
		t.Errorf("%d sessions held after the dropped ones were seen, want 1", len(s.sessions.m))
	}
	clients["qa"].login("qa", "new qa password")
}

func TestReloadSessionTTL(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, opts{users: ops, ttl: "1h"})
	c := s.client("127.0.0.1")
	c.login("ops", ops["ops"])
	if err := s.reload(opts{users: ops, ttl: "1m"}); err != nil {
		t.Fatal(err)
	}
	s.clock = s.clock.Add(30 * time.Second)
	wantStatus(t, c.get("/"), http.StatusOK)
	s.clock = s.clock.Add(2 * time.Minute)
	wantStatus(t, c.get("/"), http.StatusSeeOther)
}

func TestReloadPages(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, opts{users: ops, pages: []part.AdminPage{textPage("/queue", "Old queue"), textPage("/gone", "Gone")}})
	c := s.client("127.0.0.1")
	c.login("ops", ops["ops"])
	if res := c.get("/queue"); !strings.Contains(res.body, "page Old queue") {
		t.Fatalf("before reload: %d %s", res.StatusCode, res.body)
	}
	if err := s.reload(opts{users: ops, pages: []part.AdminPage{textPage("/queue", "New queue"), textPage("/added", "Added")}}); err != nil {
		t.Fatal(err)
	}
	if res := c.get("/queue"); res.StatusCode != http.StatusOK || res.body != "page New queue for /queue" {
		t.Errorf("/queue after reload: %d %q, want the new part's page", res.StatusCode, res.body)
	}
	wantStatus(t, c.get("/added"), http.StatusOK)
	wantStatus(t, c.get("/gone"), http.StatusNotFound)
	home := c.get("/")
	if !strings.Contains(home.body, `<a href="/added">Added</a>`) || strings.Contains(home.body, "Gone") || strings.Contains(home.body, "Old queue") {
		t.Errorf("navigation after reload does not list the new pages only:\n%s", home.body)
	}
}

func TestReloadAllowAndProxies(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, opts{allow: []string{"127.0.0.1/32"}})
	outside, proxied := s.client("192.0.2.7"), s.client("127.0.0.1")
	proxied.headers.Set("X-Forwarded-For", "198.51.100.9")
	wantStatus(t, outside.get("/"), http.StatusForbidden)
	wantStatus(t, proxied.get("/"), http.StatusOK) // not a trusted proxy: the peer counts
	if err := s.reload(opts{allow: []string{"192.0.2.0/24"}, trusted: []string{"127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, outside.get("/"), http.StatusOK)
	wantStatus(t, s.client("127.0.0.1").get("/"), http.StatusForbidden)
	wantStatus(t, proxied.get("/"), http.StatusForbidden) // now the header counts: 198.51.100.9
}

func TestReloadRefused(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, opts{users: ops, pages: []part.AdminPage{textPage("/queue", "Queue")}})
	c := s.client("127.0.0.1")
	c.login("ops", ops["ops"])
	bad := opts{users: ops, pages: []part.AdminPage{textPage("/login", "Clash")}}
	if err := s.reload(bad); err == nil || !strings.Contains(err.Error(), "/login") {
		t.Errorf("reload with a page on /login: %v, want an error naming it", err)
	}
	wantStatus(t, c.get("/queue"), http.StatusOK)

	env := testEnv(t, "127.0.0.1:1")
	if err := s.Reload(env, Deps{}); err == nil || !strings.Contains(err.Error(), "admin.listen changed") {
		t.Errorf("reload with another listen address: %v, want a refusal", err)
	}
	env.Config.Admin = nil
	if err := s.Reload(env, Deps{}); err == nil {
		t.Error("reload without [admin] accepted")
	}
	wantStatus(t, c.get("/queue"), http.StatusOK)
}

// TestReloadWhileServing runs requests while the config is swapped under
// them; with -race it checks the request path reads the config safely.
func TestReloadWhileServing(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, opts{users: ops})
	const workers, requests, reloads = 4, 40, 8
	clients := make([]*client, workers)
	for i := range clients {
		clients[i] = s.client("127.0.0.1")
		clients[i].login("ops", ops["ops"])
	}
	codes := make(chan int, workers*requests)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for i := range requests {
				path := "/"
				if i%2 == 1 {
					path = "/queue"
				}
				codes <- c.get(path).StatusCode
			}
		})
	}
	for i := range reloads {
		o := opts{users: ops}
		if i%2 == 0 {
			o.pages = []part.AdminPage{textPage("/queue", "Queue")}
		}
		if err := s.reload(o); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusOK && code != http.StatusNotFound {
			t.Fatalf("a request during reloads got %d, want 200 or 404 (logged in throughout)", code)
		}
	}
}
