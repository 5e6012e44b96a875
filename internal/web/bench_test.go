package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// nopWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures bartleby's handlers rather than a recorder.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

// BenchmarkCacheHit is bench/web/cache's request through the whole site
// table (guards, maintenance, routing, metrics, cache) without the
// network: what bartleby adds to net/http for a cached page.
func BenchmarkCacheHit(b *testing.B) {
	page := strings.Repeat("x", 20<<10)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	}))
	defer up.Close()
	tb, _ := newTable(b, `[[site]]
hosts = ["localhost"]
https = "off"
  [[site.route]]
  proxy = "`+up.URL+`"
  compress = false
    [site.route.cache]
    ttl = "10m"
    max_size = "64MiB"
`)
	r := httptest.NewRequest("GET", "http://localhost/page", nil)
	r.RemoteAddr = "127.0.0.1:5555"
	r.Header.Set("User-Agent", "wrk")
	tb.http.ServeHTTP(&nopWriter{h: http.Header{}}, r)
	b.ReportAllocs()
	for b.Loop() {
		tb.http.ServeHTTP(&nopWriter{h: http.Header{}}, r)
	}
}
