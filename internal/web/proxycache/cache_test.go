package proxycache

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bartleby/internal/testutil"
)

// fixture is a cache in front of a reverse proxy to a real upstream, with
// a clock the test moves.
type fixture struct {
	t     *testing.T
	up    *testutil.Upstream
	cache *Cache
	clock atomic.Int64
	down  atomic.Bool
}

func newFixture(t *testing.T, cfg Config, h http.HandlerFunc) *fixture {
	f := &fixture{t: t, up: testutil.StartUpstream(t, h)}
	u, _ := url.Parse(f.up.URL)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(http.StatusBadGateway) }
	if cfg.MaxSize == 0 {
		cfg.MaxSize = 8 << 20
	}
	cfg.XCache = true
	cfg.Down = f.down.Load
	f.cache = New(cfg, rp)
	f.clock.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	f.cache.now = func() time.Time { return time.Unix(0, f.clock.Load()) }
	return f
}

func (f *fixture) advance(d time.Duration) { f.clock.Add(int64(d)) }

// get answers a GET through the cache.
func (f *fixture) get(path string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "http://example.org"+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	f.cache.ServeHTTP(w, r)
	return w
}

func (f *fixture) expect(w *httptest.ResponseRecorder, status int, xcache, body string) {
	f.t.Helper()
	if w.Code != status || w.Header().Get("X-Cache") != xcache || (body != "" && w.Body.String() != body) {
		f.t.Fatalf("got %d X-Cache %q body %q; want %d %q %q", w.Code, w.Header().Get("X-Cache"), w.Body.String(), status, xcache, body)
	}
}

func (f *fixture) expectRequests(n int64) {
	f.t.Helper()
	if got := f.up.Requests(); got != n {
		f.t.Fatalf("upstream got %d requests, want %d", got, n)
	}
}

// page answers its path with the headers given as query "h=Name:value".
func page(w http.ResponseWriter, r *http.Request) {
	for _, h := range r.URL.Query()["h"] {
		k, v, _ := strings.Cut(h, ":")
		w.Header().Add(k, v)
	}
	fmt.Fprintf(w, "page %s lang=%s", r.URL.Path, r.Header.Get("Accept-Language"))
}

func TestMissThenHitUntilTTL(t *testing.T) {
	f := newFixture(t, Config{TTL: time.Minute}, page)
	f.expect(f.get("/a"), 200, "MISS", "page /a lang=")
	f.advance(30 * time.Second)
	w := f.get("/a")
	f.expect(w, 200, "HIT", "page /a lang=")
	if w.Header().Get("Age") != "30" {
		t.Errorf("Age = %q, want 30", w.Header().Get("Age"))
	}
	f.expectRequests(1)
	f.advance(31 * time.Second)
	f.expect(f.get("/a"), 200, "MISS", "")
	f.expectRequests(2)
}

func TestUpstreamFreshnessWins(t *testing.T) {
	f := newFixture(t, Config{TTL: time.Hour}, page)
	f.get("/a?h=Cache-Control:max-age=10")
	f.get("/b?h=Cache-Control:max-age=10,s-maxage=100")
	f.get("/c?h=Expires:Thu,%2001%20Jan%202026%2000:00:20%20GMT&h=Date:Thu,%2001%20Jan%202026%2000:00:00%20GMT")
	f.get("/d?h=Cache-Control:max-age=100&h=Age:95")
	f.advance(11 * time.Second)
	f.expect(f.get("/a?h=Cache-Control:max-age=10"), 200, "MISS", "")
	f.expect(f.get("/b?h=Cache-Control:max-age=10,s-maxage=100"), 200, "HIT", "")
	f.expect(f.get("/c?h=Expires:Thu,%2001%20Jan%202026%2000:00:20%20GMT&h=Date:Thu,%2001%20Jan%202026%2000:00:00%20GMT"), 200, "HIT", "")
	f.expect(f.get("/d?h=Cache-Control:max-age=100&h=Age:95"), 200, "MISS", "")
}

func TestNeverStored(t *testing.T) {
	for _, q := range []string{"h=Set-Cookie:sid=1", "h=Cache-Control:private", "h=Cache-Control:no-store",
		"h=Cache-Control:no-cache", "h=Vary:*", "h=Vary:Accept-Language,%20*", "h=Vary:Accept-Language&h=Vary:*"} {
		f := newFixture(t, Config{TTL: time.Hour}, page)
		f.get("/x?" + q)
		w := f.get("/x?" + q)
		f.expect(w, 200, "MISS", "")
		f.expectRequests(2)
	}
}

func TestBypassCookiesAndAuthorization(t *testing.T) {
	f := newFixture(t, Config{TTL: time.Hour, BypassCookies: []string{"wordpress_logged_in_*", "wp-postpass_*"}}, page)
	f.get("/a")
	f.expect(f.get("/a", "Cookie", "theme=dark"), 200, "HIT", "")
	f.expect(f.get("/a", "Cookie", "theme=dark; wordpress_logged_in_abc=x"), 200, "MISS", "")
	f.expect(f.get("/a", "Authorization", "Basic eDp5"), 200, "MISS", "")
	f.expectRequests(3)
}

// TestOverrideHeadersBypass: a request that could make the upstream answer
// for another URL or method neither stores nor gets a cached answer.
func TestOverrideHeadersBypass(t *testing.T) {
	f := newFixture(t, Config{TTL: time.Hour}, page)
	for _, k := range OverrideHeaders {
		f.expect(f.get("/o", k, "/wp-admin/"), 200, "MISS", "")
	}
	f.expect(f.get("/o"), 200, "MISS", "")
	f.expect(f.get("/o"), 200, "HIT", "")
	f.expect(f.get("/o", "X-Original-URL", "/other"), 200, "MISS", "")
	f.expectRequests(int64(len(OverrideHeaders)) + 2)
}

// TestEncodedAnswerVariesOnAcceptEncoding: an upstream that encodes without
// saying Vary: Accept-Encoding does not get its encoded body served to a
// client that did not ask for it.
func TestEncodedAnswerVariesOnAcceptEncoding(t *testing.T) {
	f := newFixture(t, Config{TTL: time.Hour}, func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Accept-Encoding"), "br") {
			w.Header().Set("Content-Encoding", "br")
			io.WriteString(w, "brotli")
			return
		}
		io.WriteString(w, "plain")
	})
	f.expect(f.get("/e", "Accept-Encoding", "br"), 200, "MISS", "brotli")
	f.expect(f.get("/e"), 200, "MISS", "plain")
	f.expect(f.get("/e", "Accept-Encoding", "br"), 200, "HIT", "brotli")
	f.expect(f.get("/e"), 200, "HIT", "plain")
}

func TestVaryKeepsVariants(t *testing.T) {
	f := newFixture(t, Config{TTL: time.Hour}, page)
	q := "/v?h=Vary:Accept-Language"
	f.expect(f.get(q, "Accept-Language", "fr"), 200, "MISS", "page /v lang=fr")
	f.expect(f.get(q, "Accept-Language", "de"), 200, "MISS", "page /v lang=de")
	f.expect(f.get(q, "Accept-Language", "fr"), 200, "HIT", "page /v lang=fr")
	f.expect(f.get(q, "Accept-Language", "de"), 200, "HIT", "page /v lang=de")
	f.expectRequests(2)
}

func TestCoalescing(t *testing.T) {
	f := newFixture(t, Config{TTL: time.Hour}, page)
	f.up.SetDelay(300 * time.Millisecond)
	var wg sync.WaitGroup
	bodies := make([]string, 100)
	for i := range bodies {
		wg.Go(func() { bodies[i] = f.get("/slow").Body.String() })
	}
	wg.Wait()
	f.expectRequests(1)
	for i, b := range bodies {
		if b != "page /slow lang=" {
			t.Fatalf("client %d got %q", i, b)
		}
	}
}

func TestStaleIfErrorThenError(t *testing.T) {
	f := newFixture(t, Config{TTL: time.Minute, StaleIfError: time.Hour}, page)
	f.get("/a")
	f.up.Stop()
	f.advance(2 * time.Minute)
	w := f.get("/a")
	f.expect(w, 200, "STALE", "page /a lang=")
	if !strings.Contains(strings.Join(w.Header().Values("Warning"), ","), "111") || w.Header().Get("Age") != "120" {
		t.Errorf("stale answer headers: %v", w.Header())
	}
	f.down.Store(true) // the proxy knows: no upstream is tried
	f.expect(f.get("/a"), 200, "STALE", "")
	if !f.cache.Usable(httptest.NewRequest("GET", "http://example.org/a", nil)) {
		t.Error("Usable is false within stale_if_error")
	}
	f.advance(time.Hour)
	if f.cache.Usable(httptest.NewRequest("GET", "http://example.org/a", nil)) {
		t.Error("Usable is true after stale_if_error")
	}
	f.expect(f.get("/a"), 502, "MISS", "")
}

func TestMustRevalidateNeverStale(t *testing.T) {
	f := newFixture(t, Config{TTL: time.Minute, StaleIfError: time.Hour}, page)
	f.get("/a?h=Cache-Control:max-age=5,must-revalidate")
	f.up.Stop()
	f.advance(10 * time.Second)
	f.expect(f.get("/a?h=Cache-Control:max-age=5,must-revalidate"), 502, "MISS", "")
}

func TestStaleWhileRevalidate(t *testing.T) {
	f := newFixture(t, Config{TTL: time.Minute, StaleWhileRevalidate: time.Minute}, page)
	f.get("/a")
	f.advance(90 * time.Second)
	f.expect(f.get("/a"), 200, "STALE", "page /a lang=")
	for i := 0; f.up.Requests() < 2; i++ { // the refresh runs in the background
		if i > 500 {
			t.Fatal("no background refresh")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := 0; f.get("/a").Header().Get("X-Cache") != "HIT"; i++ {
		if i > 500 {
			t.Fatal("refreshed entry never served")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPurge(t *testing.T) {
	f := newFixture(t, Config{TTL: time.Hour}, page)
	for _, p := range []string{"/blog/1", "/blog/2", "/about"} {
		f.get(p)
	}
	if n := f.cache.Purge("/blog/"); n != 2 {
		t.Errorf("purged %d, want 2", n)
	}
	f.expect(f.get("/blog/1"), 200, "MISS", "")
	f.expect(f.get("/about"), 200, "HIT", "")
	f.cache.Purge("/")
	f.expect(f.get("/about"), 200, "MISS", "")
}

func TestMemoryBoundLRU(t *testing.T) {
	big := strings.Repeat("x", 100<<10)
	f := newFixture(t, Config{TTL: time.Hour, MaxSize: 1 << 20}, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, big)
	})
	for i := range 30 {
		f.get(fmt.Sprintf("/o%d", i))
	}
	if b := f.cache.store.bytes; b > 1<<20 || b < 512<<10 {
		t.Errorf("store holds %d bytes for max_size 1MiB", b)
	}
	f.expect(f.get("/o29"), 200, "HIT", "")
	f.expect(f.get("/o0"), 200, "MISS", "")
}

func TestTooLargeIsStreamedNotStored(t *testing.T) {
	big := strings.Repeat("y", 300<<10) // max object is 1MiB/8
	f := newFixture(t, Config{TTL: time.Hour, MaxSize: 1 << 20}, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, big)
	})
	f.expect(f.get("/big"), 200, "MISS", big)
	f.expect(f.get("/big"), 200, "MISS", big)
	f.expectRequests(2)
}

func TestRangeAndConditionalFromCache(t *testing.T) {
	f := newFixture(t, Config{TTL: time.Hour}, page)
	f.get("/a?h=ETag:\"v1\"")
	w := f.get("/a?h=ETag:\"v1\"", "Range", "bytes=0-3")
	f.expect(w, 206, "HIT", "page")
	f.expect(f.get("/a?h=ETag:\"v1\"", "If-None-Match", `"v1"`), 304, "HIT", "")
	f.expectRequests(1)
}

func TestNoRevalidationWhileUpstreamDown(t *testing.T) {
	f := newFixture(t, Config{TTL: time.Minute, StaleWhileRevalidate: time.Minute, StaleIfError: time.Minute}, page)
	f.get("/a")
	f.down.Store(true)
	f.advance(90 * time.Second)
	w := f.get("/a")
	f.expect(w, 200, "STALE", "page /a lang=")
	if !strings.Contains(strings.Join(w.Header().Values("Warning"), ","), "111") {
		t.Errorf("stale while the upstream is down, without Warning 111: %v", w.Header())
	}
	f.expectRequests(1)
}

type noteKey struct{}

// TestUpstreamRequestContext: a miss reaches the upstream with the
// request's context values (the access log's upstream note) but not its
// cancellation, since other clients may wait on the same fetch; a
// background refresh, which outlives the request, carries none of them.
func TestUpstreamRequestContext(t *testing.T) {
	seen := make(chan any, 2)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Err() != nil {
			seen <- r.Context().Err()
			return
		}
		seen <- r.Context().Value(noteKey{})
		w.Header().Set("Cache-Control", "max-age=60, stale-while-revalidate=60")
		io.WriteString(w, "page")
	})
	c := New(Config{Site: "s", MaxSize: 1 << 20}, next)
	now := time.Now()
	c.now = func() time.Time { return now }
	get := func(cancelled bool) {
		ctx, cancel := context.WithCancel(context.WithValue(context.Background(), noteKey{}, "note"))
		if cancelled {
			cancel()
		} else {
			defer cancel()
		}
		c.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "http://example.org/a", nil).WithContext(ctx))
	}
	get(true)
	if v := <-seen; v != "note" {
		t.Errorf("a miss from a client gone reached the upstream with %v, want its value and no cancellation", v)
	}
	now = now.Add(90 * time.Second)
	get(false)
	select {
	case v := <-seen:
		if v != nil {
			t.Errorf("the background refresh carried %v", v)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no background refresh")
	}
}
