package compress

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func TestChoose(t *testing.T) {
	for ae, want := range map[string]string{
		"":                         "",
		"gzip":                     "gzip",
		"deflate, gzip, br, zstd":  "zstd",
		"gzip;q=1, zstd;q=0.5":     "gzip",
		"zstd;q=0, gzip;q=0":       "",
		"br":                       "",
		"*":                        "zstd",
		"*;q=0.3, gzip":            "gzip",
		"GZIP;Q=0.8":               "gzip",
		"gzip;q=2":                 "",
		"identity, gzip;q=garbage": "",
	} {
		if got := choose([]string{ae}); got != want {
			t.Errorf("Accept-Encoding %q: chose %q, want %q", ae, got, want)
		}
	}
}

var html = strings.Repeat("<p>hello compressible world</p>\n", 200)

// serve runs the handler over a body of the given type and headers.
func serve(t *testing.T, ctype, body string, hdr map[string]string, req ...string) *httptest.ResponseRecorder {
	t.Helper()
	h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", ctype)
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(body))
	}))
	r := httptest.NewRequest("GET", "/", nil)
	for i := 0; i+1 < len(req); i += 2 {
		r.Header.Set(req[i], req[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestCompressesHTML(t *testing.T) {
	w := serve(t, "text/html; charset=utf-8", html, map[string]string{"ETag": `"v1"`}, "Accept-Encoding", "gzip")
	if w.Header().Get("Content-Encoding") != "gzip" || w.Header().Get("Vary") != "Accept-Encoding" || w.Header().Get("ETag") == `"v1"` {
		t.Fatalf("headers %v", w.Header())
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(zr); string(b) != html {
		t.Fatal("gzip body differs")
	}
	w = serve(t, "text/html", html, nil, "Accept-Encoding", "gzip, zstd")
	zd, _ := zstd.NewReader(bytes.NewReader(w.Body.Bytes()))
	if b, _ := io.ReadAll(zd); w.Header().Get("Content-Encoding") != "zstd" || string(b) != html {
		t.Fatalf("zstd: %v", w.Header())
	}
}

func TestLeavesAlone(t *testing.T) {
	cases := map[string]*httptest.ResponseRecorder{
		"no Accept-Encoding": serve(t, "text/html", html, nil),
		"small body":         serve(t, "text/html", "<p>hi</p>", nil, "Accept-Encoding", "gzip"),
		"image":              serve(t, "image/png", html, nil, "Accept-Encoding", "gzip"),
		"already encoded":    serve(t, "text/html", html, map[string]string{"Content-Encoding": "br"}, "Accept-Encoding", "gzip"),
		"range":              serve(t, "text/html", html, nil, "Accept-Encoding", "gzip", "Range", "bytes=0-9"),
	}
	for name, w := range cases {
		if enc := w.Header().Get("Content-Encoding"); enc == "gzip" {
			t.Errorf("%s: compressed", name)
		}
	}
	if w := cases["range"]; w.Code != 206 || w.Body.String() != html[:10] {
		t.Errorf("range: %d %q", w.Code, w.Body.String())
	}
}
