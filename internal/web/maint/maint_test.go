package maint

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"bartleby/internal/config"
	"bartleby/internal/testutil"
)

const testToken = "s3cret-Token_0123456789abcdef"

// fixture is a manager over sites parsed from a real config.
type fixture struct {
	t    testing.TB
	dir  string
	cfg  *config.Config
	m    *Manager
	next http.Handler
	h    http.Handler // the first site's handler
}

// newFixture parses conf (a TOML body; {{dir}} is the temp dir) and
// builds a manager. The first site's handler answers "backend" with 200.
func newFixture(t testing.TB, conf string) *fixture {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bypass.secret"), []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := parseConfig(t, dir, conf)
	m, err := NewManager(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, dir: dir, cfg: cfg, m: m}
	f.next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "backend")
	})
	f.h = m.Handler(cfg.Sites[0], f.next, nil)
	return f
}

func parseConfig(t testing.TB, dir, conf string) *config.Config {
	t.Helper()
	conf = "state_dir = \"{{dir}}/state\"\n" + conf
	conf = strings.ReplaceAll(conf, "{{dir}}", dir)
	cfg, err := config.Parse(filepath.Join(dir, "bartleby.toml"), []byte(conf))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

const basicConf = `
trusted_proxies = ["10.0.0.1"]
[[site]]
hosts = ["Example.org", "www.example.org"]
  [site.maintenance]
  message = "Upgrading the database."
  allow = ["192.0.2.0/24", "2001:db8::1"]
  bypass_secret_file = "bypass.secret"
  exempt = ["/healthz", "/status/"]
  retry_after = "2m"
[[site]]
hosts = ["other.example"]
  [site.maintenance]
  bypass_secret_file = "bypass.secret"
`

// do sends a request from remote with the given headers.
func (f *fixture) do(method, path, remote string, hdr ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	r := httptest.NewRequest(method, "https://example.org"+path, nil)
	r.RemoteAddr = remote
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func (f *fixture) on(site string, until time.Time) {
	f.t.Helper()
	if _, err := f.m.On(Mode{Site: site, Until: until, Who: "tester"}); err != nil {
		f.t.Fatal(err)
	}
}

func isMaint(w *httptest.ResponseRecorder) bool {
	return w.Code == http.StatusServiceUnavailable && w.Body.String() != "backend"
}

func TestOffPassesThrough(t *testing.T) {
	t.Parallel()
	f := newFixture(t, basicConf)
	w := f.do("GET", "/", "198.51.100.7:1234")
	if w.Code != 200 || w.Body.String() != "backend" || w.Header().Get(BypassHeader) != "" {
		t.Fatalf("site is up but got %d %q %v", w.Code, w.Body, w.Header())
	}
}

func TestMaintenanceResponse(t *testing.T) {
	t.Parallel()
	f := newFixture(t, basicConf)
	f.on("example.org", time.Time{})
	w := f.do("GET", "/some/page", "198.51.100.7:1234")
	if !isMaint(w) {
		t.Fatalf("got %d %q", w.Code, w.Body)
	}
	h := w.Header()
	if h.Get("Retry-After") != "120" || h.Get("Cache-Control") != "no-store" || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Errorf("headers: %v", h)
	}
	if h.Get("Content-Length") != strconv.Itoa(w.Body.Len()) {
		t.Errorf("Content-Length %s for a body of %d", h.Get("Content-Length"), w.Body.Len())
	}
	body := w.Body.String()
	for _, want := range []string{"example.org", "Upgrading the database.", "<main", "<h1>Down for maintenance</h1>", `lang="en"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("no CSP forbidding requests: %v", h)
	}
}

func TestHeadAndJSON(t *testing.T) {
	t.Parallel()
	f := newFixture(t, basicConf)
	until := time.Now().Add(90 * time.Minute).UTC().Truncate(time.Second)
	if _, err := f.m.On(Mode{Site: "example.org", Until: until, Message: "back soon", Who: "t"}); err != nil {
		t.Fatal(err)
	}
	w := f.do("HEAD", "/", "198.51.100.7:1")
	if w.Code != 503 || w.Body.Len() != 0 || w.Header().Get("Content-Length") == "0" {
		t.Errorf("HEAD: %d, body %d bytes, headers %v", w.Code, w.Body.Len(), w.Header())
	}
	ra, err := strconv.Atoi(w.Header().Get("Retry-After"))
	if err != nil || ra < 89*60 || ra > 90*60 {
		t.Errorf("Retry-After %q, want about 5400", w.Header().Get("Retry-After"))
	}
	for _, accept := range []string{"application/json", "text/html;q=0.5, application/json", "application/problem+json"} {
		w = f.do("GET", "/api/x", "198.51.100.7:1", "Accept", accept)
		var j jsonBody
		if err := json.Unmarshal(w.Body.Bytes(), &j); err != nil || w.Code != 503 {
			t.Fatalf("Accept %q: %d %q: %v", accept, w.Code, w.Body, err)
		}
		if j.Status != 503 || j.Site != "example.org" || j.Message != "back soon" || !j.Until.Equal(until) || j.RetryAfter <= 0 {
			t.Errorf("Accept %q: %+v", accept, j)
		}
		if w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type %q", w.Header().Get("Content-Type"))
		}
	}
	for _, accept := range []string{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/json;q=0", "*/*", "text/html, application/json;q=0.9"} {
		w = f.do("GET", "/", "198.51.100.7:1", "Accept", accept)
		if !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			t.Errorf("Accept %q got %s", accept, w.Header().Get("Content-Type"))
		}
	}
}

func TestAlwaysPassed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, basicConf)
	f.on("example.org", time.Time{})
	for _, p := range []string{"/healthz", "/status/db"} {
		if w := f.do("GET", p, "198.51.100.7:1"); w.Code != 200 || w.Header().Get(BypassHeader) != "" {
			t.Errorf("%s: %d", p, w.Code)
		}
	}
	// ACME challenges are answered by bartleby's solver before any site
	// (or, without [acme], are a path like any other).
	for _, p := range []string{"/healthz/x", "/healthzz", "/status", "/.well-known/acme-challenge/abc"} {
		if w := f.do("GET", p, "198.51.100.7:1"); !isMaint(w) {
			t.Errorf("%s should not be exempt: %d", p, w.Code)
		}
	}
}

func TestAllowlist(t *testing.T) {
	t.Parallel()
	f := newFixture(t, basicConf)
	f.on("example.org", time.Time{})
	cases := []struct {
		remote, xff string
		bypass      bool
	}{
		{"192.0.2.9:5555", "", true},
		{"[2001:db8::1]:5555", "", true},
		{"[::ffff:192.0.2.9]:5555", "", true},
		{"198.51.100.7:5555", "", false},
		{"198.51.100.7:5555", "192.0.2.9", false},      // XFF from an untrusted peer is ignored
		{"10.0.0.1:5555", "192.0.2.9", true},           // from the trusted proxy
		{"10.0.0.1:5555", "192.0.2.9, 10.0.0.1", true}, // proxies are skipped from the right
		{"10.0.0.1:5555", "192.0.2.9, 198.51.100.7", false},
		{"10.0.0.1:5555", "garbage", false},
		{"10.0.0.1:5555", "", false},
		{"192.0.2.9:5555", "198.51.100.7", true}, // an allowed peer stays allowed
	}
	for _, c := range cases {
		var hdr []string
		if c.xff != "" {
			hdr = []string{"X-Forwarded-For", c.xff}
		}
		w := f.do("GET", "/", c.remote, hdr...)
		got := w.Code == 200 && w.Header().Get(BypassHeader) == "bypass"
		if got != c.bypass || (!got && !isMaint(w)) {
			t.Errorf("%s XFF %q: code %d header %q, want bypass=%v", c.remote, c.xff, w.Code, w.Header().Get(BypassHeader), c.bypass)
		}
	}
}

func TestUnknownSite(t *testing.T) {
	t.Parallel()
	f := newFixture(t, basicConf)
	_, err := f.m.On(Mode{Site: "nope.example", Who: "t"})
	if err == nil || !strings.Contains(err.Error(), "example.org, other.example") {
		t.Fatalf("err = %v, want the list of sites", err)
	}
	if err := f.m.Off("nope.example", "t"); err == nil {
		t.Fatal("off of an unknown site succeeded")
	}
	if _, err := f.m.On(Mode{Site: "EXAMPLE.org", Who: "t"}); err != nil {
		t.Errorf("names are case-insensitive: %v", err)
	}
	if _, err := f.m.On(Mode{Site: "example.org", Until: time.Now().Add(-time.Minute)}); err == nil {
		t.Error("an end in the past was accepted")
	}
}

func TestPersistence(t *testing.T) {
	t.Parallel()
	f := newFixture(t, basicConf)
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	if _, err := f.m.On(Mode{Site: "example.org", Until: until, Message: "m", Who: "alice"}); err != nil {
		t.Fatal(err)
	}
	f.on("other.example", time.Time{})
	if err := f.m.Off("other.example", "bob"); err != nil {
		t.Fatal(err)
	}
	m2, err := NewManager(f.cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	st := m2.Status()
	if len(st) != 2 || !st[0].On || st[0].Mode.Who != "alice" || !st[0].Mode.Until.Equal(until) || st[0].Mode.Message != "m" || st[1].On {
		t.Fatalf("after restart: %+v", st)
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(f.cfg.StateDir)
	if len(ents) != 1 || ents[0].Name() != stateName {
		t.Errorf("state dir holds %v", ents)
	}
	// A damaged state file is an error naming it, not a silent reset.
	os.WriteFile(filepath.Join(f.cfg.StateDir, stateName), []byte("{"), 0o600)
	if _, err := NewManager(f.cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), stateName) {
		t.Errorf("damaged state: %v", err)
	}
}

func TestReloadKeepsMode(t *testing.T) {
	t.Parallel()
	f := newFixture(t, basicConf)
	f.on("example.org", time.Time{})
	cfg := parseConfig(t, f.dir, strings.Replace(basicConf, "Upgrading the database.", "New words.", 1))
	if err := f.m.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	w := f.do("GET", "/", "198.51.100.7:1")
	if !isMaint(w) || !strings.Contains(w.Body.String(), "New words.") {
		t.Fatalf("after reload: %d %q", w.Code, w.Body)
	}
}

func TestUntilExpiry(t *testing.T) {
	t.Parallel()
	f := newFixture(t, basicConf)
	now := time.Now()
	f.m.now = func() time.Time { return now }
	f.on("example.org", now.Add(time.Hour))
	if w := f.do("GET", "/", "198.51.100.7:1"); !isMaint(w) {
		t.Fatalf("got %d", w.Code)
	}
	f.m.now = func() time.Time { return now.Add(time.Hour) }
	if w := f.do("GET", "/", "198.51.100.7:1"); w.Code != 200 {
		t.Fatalf("after the end: %d", w.Code)
	}
	if st := f.m.Status(); st[0].On {
		t.Errorf("status after the end: %+v", st[0])
	}
}

func TestUntilTimerTurnsOff(t *testing.T) {
	t.Parallel()
	f := newFixture(t, basicConf)
	f.on("example.org", time.Now().Add(300*time.Millisecond))
	testutil.Eventually(t, 10*time.Second, "the site to leave the state file at its end", func() error {
		b, err := os.ReadFile(filepath.Join(f.cfg.StateDir, stateName))
		if err == nil && strings.Contains(string(b), "example.org") {
			err = fmt.Errorf("the state file still holds it:\n%s", b)
		}
		return err
	})
}

func TestBackendDown(t *testing.T) {
	t.Parallel()
	f := newFixture(t, `
[[site]]
hosts = ["example.org"]
  [site.maintenance]
  when_backend_down = true
[[site]]
hosts = ["plain.example"]
`)
	down := true
	h := f.m.Handler(f.cfg.Sites[0], f.next, func(*http.Request) bool { return down })
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 503 || w.Header().Get("Retry-After") != "300" {
		t.Fatalf("backend down: %d %v", w.Code, w.Header())
	}
	down = false
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("backend up: %d", w.Code)
	}
	// Without when_backend_down, a down backend is the proxy's business.
	h = f.m.Handler(f.cfg.Sites[1], f.next, func(*http.Request) bool { return true })
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("site without when_backend_down: %d", w.Code)
	}
}

func TestErrorPage(t *testing.T) {
	t.Parallel()
	for _, code := range []int{502, 504} {
		w := httptest.NewRecorder()
		ErrorPage(w, httptest.NewRequest("GET", "/", nil), code, "example.org", "")
		if w.Code != code || !strings.Contains(w.Body.String(), "example.org") || w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%d: got %d %v", code, w.Code, w.Header())
		}
		if w.Header().Get("Retry-After") != "" {
			t.Errorf("%d carries Retry-After", code)
		}
	}
}

func TestCustomPageConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("good.html", `<!doctype html><title>{{.Site}}</title><p>{{.Message}} {{.BackAround}} {{.RetryAfter}}</p>`)
	write("latin1.html", "<p>caf\xe9</p>")
	write("broken.html", "<p>{{.Site</p>")
	write("unknown.html", "<p>{{.Nope}}</p>")
	for _, c := range []struct{ page, want string }{
		{"missing.html", "cannot read page"},
		{"latin1.html", "not valid UTF-8"},
		{"broken.html", "broken.html"},
		{"unknown.html", "Nope"},
	} {
		conf := "state_dir = \"" + dir + "/state\"\n[[site]]\nhosts = [\"a.example\"]\n[site.maintenance]\npage = \"" + c.page + "\"\n"
		_, err := parseChecked(filepath.Join(dir, "b.toml"), conf)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "site[1].maintenance.page") {
			t.Errorf("page %s: err = %v, want %q", c.page, err, c.want)
		}
	}
	f := newFixture(t, "[[site]]\nhosts = [\"a.example\"]\n[site.maintenance]\nmessage = \"<b>hi</b>\"\npage = \""+filepath.Join(dir, "good.html")+"\"\n")
	f.on("a.example", time.Time{})
	w := f.do("GET", "/", "198.51.100.7:1")
	if w.Code != 503 || !strings.Contains(w.Body.String(), "<title>a.example</title>") || !strings.Contains(w.Body.String(), "&lt;b&gt;hi&lt;/b&gt;") {
		t.Errorf("custom page: %d %q", w.Code, w.Body)
	}
}

func TestBypassSecretChecks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, secret := range map[string]string{"short": "abc", "spaces": "a token with spaces in it"} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(secret), 0o600)
		conf := "state_dir = \"" + dir + "/state\"\n[[site]]\nhosts = [\"a.example\"]\n[site.maintenance]\nbypass_secret_file = \"" + p + "\"\n"
		if _, err := parseChecked(filepath.Join(dir, "b.toml"), conf); err == nil {
			t.Errorf("%s secret accepted", name)
		}
	}
	p := filepath.Join(dir, "readable")
	os.WriteFile(p, []byte(testToken), 0o644)
	conf := "state_dir = \"" + dir + "/state\"\n[[site]]\nhosts = [\"a.example\"]\n[site.maintenance]\nbypass_secret_file = \"" + p + "\"\n"
	cfg, err := parseChecked(filepath.Join(dir, "b.toml"), conf)
	if err != nil || len(cfg.Warnings) == 0 || !strings.Contains(cfg.Warnings.Error(), "chmod 600") {
		t.Errorf("group-readable secret: err %v, warnings %v", err, cfg.Warnings)
	}
}

func TestBackAround(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 22, 10, 0, 0, time.UTC) // a Monday
	for _, c := range []struct {
		until time.Time
		want  string
	}{
		{now.Add(time.Hour), "23:10 UTC"},
		{time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC), "06:00 UTC tomorrow"},
		{time.Date(2026, 12, 3, 6, 0, 0, 0, time.UTC), "06:00 UTC on Thursday"},
		{time.Date(2027, 1, 4, 6, 0, 0, 0, time.FixedZone("CET", 3600)), "05:00 UTC on Mon 4 January"},
	} {
		if got := backAround(c.until, now); got != c.want {
			t.Errorf("%v: %q, want %q", c.until, got, c.want)
		}
	}
}

// discard is a ResponseWriter that keeps nothing, for the benchmark.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkMaintenance503 is the 503 for a browser, with no end (a fixed
// Retry-After) and with one (Retry-After counting down).
func BenchmarkMaintenance503(b *testing.B) {
	for _, c := range []struct {
		name  string
		until time.Duration
	}{{"no-end", 0}, {"countdown", 2 * time.Hour}} {
		b.Run(c.name, func(b *testing.B) {
			f := newFixture(b, basicConf)
			md := Mode{Site: "example.org", Who: "bench"}
			if c.until > 0 {
				md.Until = time.Now().Add(c.until)
			}
			if _, err := f.m.On(md); err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = "198.51.100.7:1"
			r.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
			r.Header.Set("Cookie", "session=abc; theme=dark")
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				f.h.ServeHTTP(w, r)
			}
		})
	}
}

func TestRetryAfterCountsDown(t *testing.T) {
	t.Parallel()
	f := newFixture(t, basicConf)
	now := time.Now()
	f.m.now = func() time.Time { return now }
	f.on("example.org", now.Add(time.Hour))
	f.m.now = func() time.Time { return now.Add(20 * time.Minute) }
	w := f.do("GET", "/", "198.51.100.7:1", "Accept", "application/json")
	var j jsonBody
	json.Unmarshal(w.Body.Bytes(), &j)
	if w.Header().Get("Retry-After") != "2400" || j.RetryAfter != 2400 || w.Header().Get("Content-Length") != strconv.Itoa(w.Body.Len()) {
		t.Errorf("20 minutes in: Retry-After %q, JSON %+v", w.Header().Get("Retry-After"), j)
	}
}

// parseChecked parses a config and runs the maintenance checks on it.
func parseChecked(file, conf string) (*config.Config, error) {
	return config.Parse(file, []byte(conf), Check)
}
