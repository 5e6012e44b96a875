package admin

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"bartleby/internal/certs"
	"bartleby/internal/config"
	"bartleby/internal/control"
	"bartleby/internal/fleet"
	"bartleby/internal/logring"
	"bartleby/internal/part"
)

// opts shape a test server.
type opts struct {
	allow   []string
	trusted []string
	users   map[string]string // name -> password (hashed here)
	ttl     string
	pages   []part.AdminPage
	notices []part.Notice
	cards   []part.Card
	status  func(*control.Status) // changes the test status
	logs    *logring.Ring
	certs   []certs.Cert
	fleet   *fleet.Fleet
}

// testServer is a Server with a clock the test moves and a log it reads.
type testServer struct {
	*Server
	t     *testing.T
	clock time.Time
	logs  *lockedBuffer
	reg   *prometheus.Registry
}

// hashes keeps one bcrypt hash per password, so that equal opts make equal
// configs (a reload to the same users keeps their sessions).
var hashes sync.Map

func hashOf(t *testing.T, password string) string {
	if h, ok := hashes.Load(password); ok {
		return h.(string)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := hashes.LoadOrStore(password, string(h))
	return h2.(string)
}

var testStarted = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func (o opts) config(t *testing.T) *config.Config {
	t.Helper()
	if o.allow == nil {
		o.allow = []string{"127.0.0.0/8", "::1/128"}
	}
	a := &config.Admin{Listen: "127.0.0.1:0", Allow: o.allow, SessionTTL: config.Defaults().Admin.SessionTTL}
	if o.ttl != "" {
		if err := a.SessionTTL.UnmarshalText([]byte(o.ttl)); err != nil {
			t.Fatal(err)
		}
	}
	if o.users != nil {
		a.Users = map[string]string{}
		for name, pw := range o.users {
			a.Users[name] = hashOf(t, pw)
		}
	}
	return &config.Config{Admin: a, TrustedProxies: o.trusted, Hostname: "test.example"}
}

func (o opts) deps(metrics prometheus.Gatherer) Deps {
	return Deps{
		Pages:   o.pages,
		Metrics: metrics,
		Notices: func() []part.Notice { return o.notices },
		Cards:   func() []part.Card { return o.cards },
		Logs:    o.logs,
		Certs:   func() []certs.Cert { return o.certs },
		Status: func() control.Status {
			st := control.Status{Version: "test", PID: 42, Config: "/etc/bartleby.toml", Started: testStarted,
				Parts: []control.PartStatus{{Name: "admin", Addrs: []string{"127.0.0.1:8025"}, Since: testStarted}}}
			if o.status != nil {
				o.status(&st)
			}
			return st
		},
	}
}

func newTestServer(t *testing.T, o opts) *testServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "bartleby_part_up", Help: "test"}))
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := newServer(o.config(t), log, reg, o.deps(reg), o.fleet, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: s, t: t, clock: testStarted.Add(time.Hour), logs: logs, reg: reg}
	s.now = func() time.Time { return ts.clock }
	return ts
}

// reload gives the test server the config and pages of o, as the daemon
// does on SIGHUP.
func (s *testServer) reload(o opts) error {
	s.t.Helper()
	cfg := o.config(s.t)
	cfg.StateDir = s.t.TempDir()
	cm, err := certs.New(cfg, s.log)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(cm.Close)
	return s.Reload(&part.Env{Config: cfg, Log: s.log, Certs: cm, Metrics: s.reg, Fleet: o.fleet}, o.deps(s.reg))
}

// client is a browser of the test server: it keeps cookies and comes from
// a given peer address.
type client struct {
	s       *testServer
	peer    string
	headers http.Header
	cookies map[string]*http.Cookie
}

func (s *testServer) client(peer string) *client {
	return &client{s: s, peer: peer, headers: http.Header{}, cookies: map[string]*http.Cookie{}}
}

// response is an answer with its body read.
type response struct {
	*http.Response
	body   string
	method string
	path   string
}

func (c *client) do(method, path string, form url.Values) response {
	c.s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, "https://admin.test"+path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.RemoteAddr = netip.AddrPortFrom(netip.MustParseAddr(c.peer), 40000).String()
	for k, v := range c.headers {
		r.Header[k] = v
	}
	for _, ck := range c.cookies {
		r.AddCookie(ck)
	}
	w := httptest.NewRecorder()
	c.s.ServeHTTP(w, r)
	res := w.Result()
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	b, _ := io.ReadAll(res.Body)
	return response{res, string(b), method, path}
}

func (c *client) get(path string) response { return c.do(http.MethodGet, path, nil) }

func (c *client) post(path string, form url.Values) response {
	if form == nil {
		form = url.Values{}
	}
	return c.do(http.MethodPost, path, form)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from a page.
func csrf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field in page:\n%s", page)
	}
	return m[1]
}

// login logs c in as user and fails the test if that does not work.
func (c *client) login(user, password string) {
	c.s.t.Helper()
	page := c.get("/login")
	res := c.post("/login", url.Values{"csrf": {csrf(c.s.t, page.body)}, "user": {user}, "password": {password}, "next": {"/"}})
	if res.StatusCode != http.StatusSeeOther || c.cookies[sessionCookie] == nil {
		c.s.t.Fatalf("login as %s: %d, cookies %v\n%s", user, res.StatusCode, c.cookies, res.body)
	}
}

func wantStatus(t *testing.T, res response, code int) {
	t.Helper()
	if res.StatusCode != code {
		t.Fatalf("%s %s: status %d, want %d\n%s", res.method, res.path, res.StatusCode, code, res.body)
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
