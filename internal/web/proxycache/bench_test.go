package proxycache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// discard is a ResponseWriter that keeps nothing, so the benchmark
// measures the cache rather than a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func BenchmarkHit(b *testing.B) {
	page := strings.Repeat("x", 20<<10)
	c := New(Config{TTL: time.Hour, MaxSize: 64 << 20}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	}))
	r := httptest.NewRequest("GET", "http://example.org/page", nil)
	r.Header.Set("User-Agent", "wrk")
	c.ServeHTTP(&discard{h: http.Header{}}, r)
	b.ReportAllocs()
	for b.Loop() {
		c.ServeHTTP(&discard{h: http.Header{}}, r)
	}
}
