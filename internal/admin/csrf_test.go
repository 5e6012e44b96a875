package admin

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"bartleby/internal/adminui"
	"bartleby/internal/part"
)

// flushPage is a part's admin page: GET shows a form, POST changes state.
type flushPage struct{ flushed atomic.Int32 }

func (p *flushPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		p.flushed.Add(1)
		http.Redirect(w, r, r.URL.Path, http.StatusSeeOther)
		return
	}
	adminui.Render(w, r, "Queue", template.HTML(fmt.Sprintf(`<p>user %s</p><form method="post">%s<button>Flush</button></form>`,
		template.HTMLEscapeString(adminui.User(r)), adminui.CSRFField(r))))
}

func queuePage() (*flushPage, part.AdminPage) {
	p := &flushPage{}
	return p, part.AdminPage{Path: "/queue", Title: "Mail queue", Handler: p}
}

func TestCSRFWithLogin(t *testing.T) {
	t.Parallel()
	p, page := queuePage()
	s := newTestServer(t, opts{users: ops, pages: []part.AdminPage{page}})
	c := s.client("127.0.0.1")
	c.login("ops", ops["ops"])
	form := c.get("/queue")
	wantStatus(t, form, http.StatusOK)
	token := csrf(t, form.body)

	wantStatus(t, c.post("/queue", nil), http.StatusForbidden)
	wantStatus(t, c.post("/queue", url.Values{"csrf": {"AAAA"}}), http.StatusForbidden)
	wantStatus(t, c.post("/queue", url.Values{"csrf": {token + "x"}}), http.StatusForbidden)
	// A token of another session is no good either.
	other := s.client("127.0.0.1")
	other.login("ops", ops["ops"])
	wantStatus(t, other.post("/queue", url.Values{"csrf": {token}}), http.StatusForbidden)
	if n := p.flushed.Load(); n != 0 {
		t.Fatalf("refused POSTs reached the page %d times", n)
	}
	if !strings.Contains(s.logs.String(), "CSRF") {
		t.Errorf("refused POST not logged:\n%s", s.logs)
	}

	wantStatus(t, c.post("/queue", url.Values{"csrf": {token}}), http.StatusSeeOther)
	if n := p.flushed.Load(); n != 1 {
		t.Fatalf("the page ran %d times, want 1", n)
	}
}

func TestCSRFWithoutLogin(t *testing.T) {
	t.Parallel()
	p, page := queuePage()
	s := newTestServer(t, opts{pages: []part.AdminPage{page}})
	c := s.client("127.0.0.1")
	form := c.get("/queue")
	ck := c.cookies[csrfCookie]
	if ck == nil || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
		t.Fatalf("CSRF cookie %+v, want Secure, HttpOnly, SameSite=Strict", ck)
	}
	token := csrf(t, form.body)

	wantStatus(t, c.post("/queue", nil), http.StatusForbidden)
	// The token without its cookie, and a cookie without the token.
	stranger := s.client("127.0.0.1")
	wantStatus(t, stranger.post("/queue", url.Values{"csrf": {token}}), http.StatusForbidden)
	stranger.get("/queue")
	wantStatus(t, stranger.post("/queue", url.Values{"csrf": {token}}), http.StatusForbidden)
	// A planted cookie with a token of the attacker's choosing.
	planted := s.client("127.0.0.1")
	planted.cookies[csrfCookie] = &http.Cookie{Name: csrfCookie, Value: strings.Repeat("A", 43)}
	wantStatus(t, planted.post("/queue", url.Values{"csrf": {strings.Repeat("A", 43)}}), http.StatusForbidden)
	if n := p.flushed.Load(); n != 0 {
		t.Fatalf("refused POSTs reached the page %d times", n)
	}

	wantStatus(t, c.post("/queue", url.Values{"csrf": {token}}), http.StatusSeeOther)
	if n := p.flushed.Load(); n != 1 {
		t.Fatalf("the page ran %d times, want 1", n)
	}
}

func TestLoginFormNeedsCSRF(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, opts{users: ops})
	c := s.client("127.0.0.1")
	c.get("/login")
	wantStatus(t, c.post("/login", url.Values{"user": {"ops"}, "password": {ops["ops"]}}), http.StatusForbidden)
	if c.cookies[sessionCookie] != nil {
		t.Fatal("logged in without a CSRF token")
	}
}

func TestPartPageProtected(t *testing.T) {
	t.Parallel()
	p, page := queuePage()
	s := newTestServer(t, opts{users: ops, allow: []string{"127.0.0.1/32"}, pages: []part.AdminPage{page}})
	wantStatus(t, s.client("192.0.2.1").get("/queue"), http.StatusForbidden)
	wantStatus(t, s.client("192.0.2.1").post("/queue", nil), http.StatusForbidden)
	res := s.client("127.0.0.1").get("/queue")
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/login?next=%2Fqueue" {
		t.Errorf("redirect to %q", loc)
	}
	wantStatus(t, s.client("127.0.0.1").post("/queue", nil), http.StatusSeeOther)
	if p.flushed.Load() != 0 {
		t.Fatal("a POST without login reached the page")
	}

	c := s.client("127.0.0.1")
	c.login("ops", ops["ops"])
	res = c.get("/queue")
	wantStatus(t, res, http.StatusOK)
	for _, want := range []string{"<p>user ops</p>", `<a href="/queue" aria-current="page">Mail queue</a>`, `<a href="/">Home</a>`, "<title>Queue · bartleby</title>"} {
		if !strings.Contains(res.body, want) {
			t.Errorf("part page lacks %q:\n%s", want, res.body)
		}
	}
	home := c.get("/")
	if !strings.Contains(home.body, `<a href="/queue">Mail queue</a>`) {
		t.Errorf("home page's navigation does not link the part page:\n%s", home.body)
	}
}

func TestPagePaths(t *testing.T) {
	t.Parallel()
	h := http.NotFoundHandler()
	for _, paths := range [][]string{
		{"queue"}, {"/login"}, {"/metrics"}, {"/"}, {"/static/x.css"}, {"/a/../b"}, {"/a//b"},
		{"GET /a"}, {"/a/{x}"}, {"/q", "/q"}, {"example.org/a"}, {"/logout/"},
	} {
		var pages []part.AdminPage
		for _, p := range paths {
			pages = append(pages, part.AdminPage{Path: p, Title: "x", Handler: h})
		}
		s := &view{Server: &Server{}, deps: Deps{Pages: pages}}
		if _, err := s.routes(); err == nil {
			t.Errorf("pages %q accepted", paths)
		}
	}
	s := &view{Server: &Server{}, deps: Deps{Pages: []part.AdminPage{{Path: "/queue", Handler: h}, {Path: "/maint/", Handler: h}, {Path: "/queue/item", Handler: h}}}}
	if _, err := s.routes(); err != nil {
		t.Errorf("good pages refused: %v", err)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, opts{users: ops, allow: []string{"127.0.0.1/32"}})
	res := s.client("127.0.0.1").get("/metrics")
	wantStatus(t, res, http.StatusOK)
	for _, want := range []string{"bartleby_part_up", "bartleby_admin_logins_total"} {
		if !strings.Contains(res.body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, res.body)
		}
	}
	wantStatus(t, s.client("192.0.2.1").get("/metrics"), http.StatusForbidden)
}
