package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"bartleby/internal/testutil"
)

// reference answers as serveFile did before small files got their own
// path: the same headers, then http.ServeContent. The fast path must not
// be told apart from it.
func reference(t *testing.T, root, name, enc, method string, hdr []string) *http.Response {
	t.Helper()
	file := filepath.Join(root, name)
	if enc == "gzip" {
		file += ".gz"
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(method, "http://a.test/"+name, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept-Encoding")
	h.Set("Cache-Control", "max-age=60")
	if enc != "" {
		h.Set("Content-Encoding", enc)
	}
	h.Set("ETag", etag(st))
	http.ServeContent(w, r, "", st.ModTime(), bytes.NewReader(data))
	return w.Result()
}

// TestStaticSameAsServeContent checks that every answer for a small file
// (from memory, unconditional ones without http.ServeContent) and a large
// one (open, through http.ServeContent) has the status, headers and body
// http.ServeContent gives, for plain, HEAD, conditional, Range and
// precompressed requests.
func TestStaticSameAsServeContent(t *testing.T) {
	t.Parallel()
	tb, cfg := newTable(t, `[[site]]
hosts = ["a.test"]
https = "off"
[[site.route]]
root = "{{dir}}/www"
cache_control = "max-age=60"
`)
	root := filepath.Join(filepath.Dir(cfg.File), "www")
	small := strings.Repeat("small file ", 100)
	large := strings.Repeat("large file ", maxCachedFile/5)
	for name, text := range map[string]string{"small.txt": small, "large.txt": large} {
		testutil.WriteFile(t, filepath.Join(root, name), text)
		testutil.WriteFile(t, filepath.Join(root, name+".gz"), gzipped(t, text))
	}
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, name := range []string{"small.txt", "small.txt.gz", "large.txt", "large.txt.gz"} {
		if err := os.Chtimes(filepath.Join(root, name), mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	before, after := mtime.Add(-time.Hour).Format(http.TimeFormat), mtime.Add(time.Hour).Format(http.TimeFormat)
	for _, name := range []string{"small.txt", "large.txt"} {
		st, err := os.Stat(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		tag := etag(st)
		tests := []struct {
			method, enc string
			hdr         []string
			status      int
		}{
			{"GET", "", nil, 200},
			{"HEAD", "", nil, 200},
			{"GET", "", []string{"If-None-Match", tag}, 304},
			{"HEAD", "", []string{"If-None-Match", tag}, 304},
			{"GET", "", []string{"If-None-Match", `"other"`}, 200},
			{"GET", "", []string{"If-None-Match", "*"}, 304},
			{"GET", "", []string{"If-None-Match", ""}, 200},
			{"GET", "", []string{"If-Modified-Since", mtime.Format(http.TimeFormat)}, 304},
			{"GET", "", []string{"If-Modified-Since", before}, 200},
			{"GET", "", []string{"If-Match", `"other"`}, 412},
			{"GET", "", []string{"If-Match", tag}, 200},
			{"GET", "", []string{"If-Unmodified-Since", before}, 412},
			{"GET", "", []string{"If-Unmodified-Since", after}, 200},
			{"GET", "", []string{"Range", "bytes=0-3"}, 206},
			{"HEAD", "", []string{"Range", "bytes=-5"}, 206},
			{"GET", "", []string{"Range", "bytes=999999-"}, 416},
			{"GET", "", []string{"Range", "bytes=2-4", "If-Range", tag}, 206},
			{"GET", "", []string{"Range", "bytes=2-4", "If-Range", `"other"`}, 200},
			{"GET", "", []string{"If-Range", `"other"`}, 200},
			{"GET", "gzip", []string{"Accept-Encoding", "gzip"}, 200},
			{"HEAD", "gzip", []string{"Accept-Encoding", "gzip"}, 200},
			{"GET", "gzip", []string{"Accept-Encoding", "gzip", "If-None-Match", tag}, 200},
		}
		for _, tt := range tests {
			// Twice: the first read fills the cache, the second uses it.
			for range 2 {
				got := do(tb, tt.method, "http://a.test/"+name, "", tt.hdr...)
				want := reference(t, root, name, tt.enc, tt.method, tt.hdr)
				gb, wb := body(t, got), body(t, want)
				if got.StatusCode != tt.status || want.StatusCode != tt.status {
					t.Errorf("%s %s %q: status %d, ServeContent %d, want %d", tt.method, name, tt.hdr, got.StatusCode, want.StatusCode, tt.status)
				}
				if !reflect.DeepEqual(got.Header, want.Header) {
					t.Errorf("%s %s %q: headers\n%v\nServeContent's\n%v", tt.method, name, tt.hdr, got.Header, want.Header)
				}
				if gb != wb {
					t.Errorf("%s %s %q: body of %d bytes, ServeContent's %d", tt.method, name, tt.hdr, len(gb), len(wb))
				}
			}
		}
	}
}
