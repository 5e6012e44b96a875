package admin

import (
	"net/http"
	"strings"
	"testing"
)

func TestAllowedIP(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, opts{allow: []string{"127.0.0.1/32", "2001:db8::/32"}})
	for _, peer := range []string{"127.0.0.1", "2001:db8::7", "::ffff:127.0.0.1"} {
		res := s.client(peer).get("/")
		wantStatus(t, res, http.StatusOK)
		if !strings.Contains(res.body, `<td data-label="Part">admin</td>`) || !strings.Contains(res.body, "127.0.0.1:8025") {
			t.Errorf("from %s: home page does not list the admin part:\n%s", peer, res.body)
		}
	}
}

func TestDeniedIP(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, opts{allow: []string{"127.0.0.1/32"}})
	for _, path := range []string{"/", "/login", "/metrics", "/healthz", "/static/style.css", "/nope"} {
		res := s.client("192.0.2.10").get(path)
		wantStatus(t, res, http.StatusForbidden)
		if strings.Contains(res.body, "<nav>") {
			t.Errorf("%s: the 403 page shows the navigation", path)
		}
	}
	wantStatus(t, s.client("127.0.0.2").get("/"), http.StatusForbidden)
	if !strings.Contains(s.logs.String(), "admin access denied") || !strings.Contains(s.logs.String(), "ip=192.0.2.10") {
		t.Errorf("denied access not logged with the address:\n%s", s.logs)
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, opts{})
	for _, peer := range []string{"127.0.0.1", "192.0.2.1"} {
		res := s.client(peer).get("/")
		for k, want := range map[string]string{
			"Content-Security-Policy": "default-src 'self'",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "no-referrer",
			"X-Content-Type-Options":  "nosniff",
		} {
			if got := res.Header.Get(k); !strings.Contains(got, want) {
				t.Errorf("from %s: %s = %q, want %q", peer, k, got, want)
			}
		}
		if strings.Contains(res.body, "<script") || strings.Contains(res.body, "style=") || strings.Contains(res.body, "<style") {
			t.Errorf("page has inline script or style:\n%s", res.body)
		}
	}
}

func TestMethods(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, opts{})
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch, "PROPFIND"} {
		res := s.client("127.0.0.1").do(m, "/", nil)
		wantStatus(t, res, http.StatusMethodNotAllowed)
	}
}

func TestSpoofedForwardedFor(t *testing.T) {
	t.Parallel()
	// No trusted proxies: the header is never believed.
	s := newTestServer(t, opts{allow: []string{"127.0.0.1/32"}})
	c := s.client("192.0.2.10")
	c.headers.Set("X-Forwarded-For", "127.0.0.1")
	wantStatus(t, c.get("/"), http.StatusForbidden)

	// A proxy is trusted, but the request does not come from it.
	s = newTestServer(t, opts{allow: []string{"127.0.0.1/32"}, trusted: []string{"198.51.100.1"}})
	c = s.client("192.0.2.10")
	c.headers.Set("X-Forwarded-For", "127.0.0.1")
	wantStatus(t, c.get("/"), http.StatusForbidden)
}

func TestForwardedForFromTrustedProxy(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, opts{allow: []string{"203.0.113.0/24"}, trusted: []string{"198.51.100.0/28"}})
	for _, tc := range []struct {
		xff  []string
		want int
	}{
		{[]string{"203.0.113.5"}, http.StatusOK},
		{[]string{"192.0.2.9"}, http.StatusForbidden},
		// The client wrote the left entry itself: only the right one counts.
		{[]string{"203.0.113.5, 192.0.2.9"}, http.StatusForbidden},
		{[]string{"192.0.2.9, 203.0.113.5"}, http.StatusOK},
		// Two proxies in a row: skip the trusted hop.
		{[]string{"203.0.113.5, 198.51.100.2"}, http.StatusOK},
		{[]string{"192.0.2.9", "203.0.113.5"}, http.StatusOK},
		{[]string{"203.0.113.5", "192.0.2.9"}, http.StatusForbidden},
		{[]string{"[203.0.113.5]:5555"}, http.StatusOK},
		{[]string{"203.0.113.5:5555"}, http.StatusOK},
		{[]string{"garbage"}, http.StatusForbidden},
		{[]string{"203.0.113.5, garbage"}, http.StatusForbidden},
		{[]string{strings.Repeat("203.0.113.5,", 40) + "203.0.113.5"}, http.StatusForbidden},
		// No header: the proxy itself is not allowed.
		{nil, http.StatusForbidden},
	} {
		c := s.client("198.51.100.1")
		for _, v := range tc.xff {
			c.headers.Add("X-Forwarded-For", v)
		}
		if res := c.get("/"); res.StatusCode != tc.want {
			t.Errorf("X-Forwarded-For %q from a trusted proxy: %d, want %d", tc.xff, res.StatusCode, tc.want)
		}
	}
}
