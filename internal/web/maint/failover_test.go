package maint

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBackendDownOnFailure: the request whose failure takes the backend
// down (the proxy's first try, or its retry when fail_duration ends) gets
// the maintenance page as the ones after it, not the 502; headers set
// before the site ran are kept, the 502's are not. A bypassing client, an
// exempt path and an answer that is not a failure go through as sent.
func TestBackendDownOnFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t, `
[[site]]
hosts = ["example.org"]
  [site.maintenance]
  when_backend_down = true
  allow = ["192.0.2.7"]
  exempt = ["/healthz"]
`)
	down := false
	status := http.StatusBadGateway
	// The proxy: it finds the upstream failing, marks it down, answers 502.
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		down = true
		w.Header().Set("X-From-Proxy", "1")
		ErrorPage(w, r, status, "example.org", "")
	})
	h := f.m.Handler(f.cfg.Sites[0], next, func(*http.Request) bool { return down })
	serve := func(path, peer string) *httptest.ResponseRecorder {
		down = false
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = peer + ":1234"
		w := httptest.NewRecorder()
		w.Header().Set("Strict-Transport-Security", "max-age=60")
		h.ServeHTTP(w, r)
		return w
	}

	for _, code := range []int{502, 504} {
		status = code
		w := serve("/", "198.51.100.1")
		if w.Code != 503 || !strings.Contains(w.Body.String(), "Down for maintenance") || w.Header().Get("Retry-After") != "300" {
			t.Errorf("%d that took the backend down: %d %v\n%s", code, w.Code, w.Header(), w.Body)
		}
		if w.Header().Get("Strict-Transport-Security") == "" || w.Header().Get("X-From-Proxy") != "" {
			t.Errorf("%d replaced: headers %v", code, w.Header())
		}
	}
	status = 502
	if w := serve("/", "192.0.2.7"); w.Code != 502 || w.Header().Get("X-From-Proxy") != "1" {
		t.Errorf("bypassing client: %d, want the 502", w.Code)
	}
	if w := serve("/healthz", "198.51.100.1"); w.Code != 502 {
		t.Errorf("exempt path: %d, want the 502", w.Code)
	}
	status = 500
	if w := serve("/", "198.51.100.1"); w.Code != 500 {
		t.Errorf("an application's 500: %d, want it as sent", w.Code)
	}

	// A 502 that leaves the backend up (an upstream's own answer) is sent.
	h = f.m.Handler(f.cfg.Sites[0], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("from the application"))
	}), func(*http.Request) bool { return false })
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 502 || w.Body.String() != "from the application" {
		t.Errorf("the application's 502: %d %q", w.Code, w.Body)
	}
}
