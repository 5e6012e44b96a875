package maint

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The 503 is served for every request of a site in maintenance: its common
// paths must not allocate.
func TestServeAllocs(t *testing.T) {
	f := newFixture(t, basicConf)
	now := time.Now()
	f.m.now = func() time.Time { return now }
	browser := "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	for _, c := range []struct {
		name   string
		until  time.Time
		method string
		hdr    []string
	}{
		{"no end", time.Time{}, "GET", nil},
		{"browser", time.Time{}, "GET", []string{"Accept", browser, "Cookie", "session=abc; theme=dark"}},
		{"countdown", now.Add(time.Hour), "GET", []string{"Accept", browser}},
		{"json countdown", now.Add(time.Hour), "GET", []string{"Accept", "Application/JSON;q=0.9, text/html;q=0.5"}},
		{"head", now.Add(time.Hour), "HEAD", nil},
		{"other cookie", time.Time{}, "GET", []string{"Cookie", CookieName + "=v1.1.x; a=b"}},
	} {
		f.on("example.org", c.until)
		r := httptest.NewRequest(c.method, "/page", nil)
		r.RemoteAddr = "198.51.100.7:1"
		for i := 0; i+1 < len(c.hdr); i += 2 {
			r.Header.Set(c.hdr[i], c.hdr[i+1])
		}
		w := &discard{h: http.Header{}}
		f.h.ServeHTTP(w, r)
		if w.h.Get("Retry-After") == "" || w.h.Get("Content-Length") == "" {
			t.Fatalf("%s: not the 503: %v", c.name, w.h)
		}
		if n := testing.AllocsPerRun(100, func() { clear(w.h); f.h.ServeHTTP(w, r) }); n != 0 {
			t.Errorf("%s: %v allocations per request, want 0", c.name, n)
		}
	}
}

// Retry-After and the JSON body count down with the clock although they are
// made once per second, not per request.
func TestRetryAfterCached(t *testing.T) {
	t.Parallel()
	f := newFixture(t, basicConf)
	start := time.Date(2026, 11, 23, 1, 0, 0, 300e6, time.UTC)
	now := start
	f.m.now = func() time.Time { return now }
	f.on("example.org", start.Add(time.Hour))
	html := f.do("GET", "/", "198.51.100.7:1").Body.String()
	for _, c := range []struct {
		at   time.Duration
		want int
	}{
		{0, 3600}, {500 * time.Millisecond, 3600}, {700 * time.Millisecond, 3600}, {time.Second, 3599},
		{20 * time.Minute, 2400}, {20*time.Minute + 1, 2400}, {time.Hour - time.Millisecond, 1},
		{5 * time.Minute, 3300}, // the clock may step back
	} {
		now = start.Add(c.at)
		w := f.do("GET", "/", "198.51.100.7:1")
		if got := w.Header().Get("Retry-After"); got != strconv.Itoa(c.want) || w.Body.String() != html {
			t.Errorf("at +%v: Retry-After %s, want %d; page unchanged %v", c.at, got, c.want, w.Body.String() == html)
		}
		w = f.do("GET", "/", "198.51.100.7:1", "Accept", "application/json")
		var j jsonBody
		if err := json.Unmarshal(w.Body.Bytes(), &j); err != nil || j.RetryAfter != c.want ||
			w.Header().Get("Retry-After") != strconv.Itoa(c.want) || w.Header().Get("Content-Length") != strconv.Itoa(w.Body.Len()) {
			t.Errorf("at +%v: JSON %s (%v), headers %v, want retry_after %d", c.at, w.Body, err, w.Header(), c.want)
		}
	}
}

// The page is made again at each switch: a new message or end shows.
func TestPageFollowsSwitch(t *testing.T) {
	t.Parallel()
	f := newFixture(t, basicConf)
	for _, msg := range []string{"First message.", "Second message.", ""} {
		if _, err := f.m.On(Mode{Site: "example.org", Message: msg, Who: "t"}); err != nil {
			t.Fatal(err)
		}
		want := msg
		if msg == "" {
			want = "Upgrading the database." // the site's default
		}
		w := f.do("GET", "/", "198.51.100.7:1")
		if !strings.Contains(w.Body.String(), want) || w.Header().Get("Content-Length") != strconv.Itoa(w.Body.Len()) {
			t.Errorf("message %q: page lacks %q or has a wrong length", msg, want)
		}
		w = f.do("GET", "/", "198.51.100.7:1", "Accept", "application/json")
		var j jsonBody
		if err := json.Unmarshal(w.Body.Bytes(), &j); err != nil || j.Message != want || j.RetryAfter != 120 {
			t.Errorf("message %q: JSON %s", msg, w.Body)
		}
	}
	until := time.Now().Add(3 * time.Hour)
	f.on("example.org", until)
	if w := f.do("GET", "/", "198.51.100.7:1"); !strings.Contains(w.Body.String(), until.UTC().Format("15:04 UTC")) {
		t.Errorf("the end %v is not on the page", until)
	}
	if err := f.m.Off("example.org", "t"); err != nil {
		t.Fatal(err)
	}
	if w := f.do("GET", "/", "198.51.100.7:1"); w.Body.String() != "backend" {
		t.Errorf("off: got %d %q", w.Code, w.Body)
	}
}

func TestWantsJSON(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		accept []string
		want   bool
	}{
		{nil, false},
		{[]string{"application/json"}, true},
		{[]string{"APPLICATION/JSON"}, true},
		{[]string{"application/vnd.api+JSON; charset=utf-8"}, true},
		{[]string{"application/json;q=0"}, false},
		{[]string{"application/json;q=0.5", "text/html"}, false}, // text/html in another line
		{[]string{"text/html;q=0.5", "application/json"}, true},
		{[]string{"application/jsonx"}, false},
		{[]string{"text/json"}, false},
		{[]string{"*/*"}, false},
		{[]string{"application/json", strings.Repeat("a", 1025)}, false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Accept"] = c.accept
		if got := wantsJSON(r); got != c.want {
			t.Errorf("Accept %q: %v, want %v", c.accept, got, c.want)
		}
	}
}

// refWantsJSON is wantsJSON written plainly (it allocates), to check the
// fast one against.
func refWantsJSON(accept []string) bool {
	var qJSON, qHTML float64 = -1, -1
	for _, line := range accept {
		if len(line) > 1024 {
			return false
		}
		for _, part := range strings.Split(line, ",") {
			typ, params, _ := strings.Cut(part, ";")
			typ = strings.ToLower(strings.TrimSpace(typ))
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(k, "q") {
					q = parseQ(v)
				}
			}
			switch {
			case typ == "application/json" || strings.HasPrefix(typ, "application/") && strings.HasSuffix(typ, "+json"):
				qJSON = max(qJSON, q)
			case typ == "text/html" || typ == "application/xhtml+xml":
				qHTML = max(qHTML, q)
			}
		}
	}
	return qJSON > 0 && qJSON >= qHTML
}

func FuzzWantsJSON(f *testing.F) {
	for _, s := range []string{"application/json", "text/html;q=0.9, Application/Json;Q=1.0", "*/*", "application/json;q=0",
		"application/x+json;q=0.001, text/html;q=0.001", "application/+json", "\u212aapplication/json", "ſjson"} {
		f.Add(s, "text/html;q=0.8")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, accept := range [][]string{{a}, {a, b}} {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header["Accept"] = accept
			if got, want := wantsJSON(r), refWantsJSON(accept); got != want {
				t.Fatalf("Accept %q: %v, the plain version says %v", accept, got, want)
			}
		}
	})
}

// FuzzCookieHeader checks that the bypass cookie is found in a Cookie
// header exactly when net/http's parser finds it.
func FuzzCookieHeader(f *testing.F) {
	key := deriveKey(testToken)
	exp := time.Now().Add(time.Hour)
	good := signCookie(key, "example.org", exp)
	for _, s := range [][2]string{{"", ""}, {"a=b; ", "; c=d"}, {" ", " "}, {`"`, `"`}, {"x", ""}, {";", "x"},
		{"a=b;", " =x"}, {"\t", "\r"}, {"\u00a0", ""}, {strings.Repeat(";", 3000), ""}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, before, after string) {
		for _, v := range []string{good, `"` + good + `"`} {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header["Cookie"] = []string{before + CookieName + "=" + v + after}
			want := false
			if len(r.Header["Cookie"][0]) <= maxCookieHeader {
				for _, c := range r.CookiesNamed(CookieName) {
					want = want || verifyCookie(key, "example.org", c.Value, exp.Add(-time.Minute))
				}
			}
			if got := validCookie(r, key, "example.org", exp.Add(-time.Minute)); got != want {
				t.Fatalf("Cookie %q: %v, net/http finds %v", r.Header["Cookie"][0], got, want)
			}
		}
	})
}
