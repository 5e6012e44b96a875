// Package compress compresses a route's responses with gzip or zstd
// (github.com/klauspost/compress/gzhttp): negotiated by Accept-Encoding
// with q-values, only compressible types above MinSize, never a body that
// is already encoded or a range, always with Vary: Accept-Encoding.
package compress

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzhttp"
)

// MinSize is the smallest body worth compressing; below it the framing
// costs more than it saves.
const MinSize = 1024

// wrap is gzhttp's handler wrapper, made once.
var wrap = func() func(http.Handler) http.HandlerFunc {
	w, err := gzhttp.NewWrapper(gzhttp.MinSize(MinSize), gzhttp.SuffixETag("-gzip"), gzhttp.PreferZstd(true),
		gzhttp.ContentTypeFilter(compressible))
	if err != nil {
		panic(err) // the options are constants
	}
	return w
}()

// compressible lists the media types that shrink: text, and the
// structured or font formats that are text or uncompressed underneath.
// Images (but SVG), media and archives are compressed already.
func compressible(ct string) bool {
	ct, _, _ = strings.Cut(strings.ToLower(ct), ";")
	ct = strings.TrimSpace(ct)
	switch {
	case strings.HasPrefix(ct, "text/"), strings.HasSuffix(ct, "+json"), strings.HasSuffix(ct, "+xml"),
		strings.HasSuffix(ct, "/json"), strings.HasSuffix(ct, "/xml"), strings.HasSuffix(ct, "javascript"):
		return true
	}
	switch ct {
	case "application/wasm", "font/ttf", "font/otf", "application/vnd.ms-fontobject", "image/x-icon", "image/bmp":
		return true
	}
	return false
}

// Handler compresses next's responses.
func Handler(next http.Handler) http.Handler {
	inner := wrap(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Negotiate(r)
		inner(w, r)
	})
}

// Negotiate replaces the request's Accept-Encoding by the one coding this
// server will use ("zstd", "gzip" or none), so that a cache keys on what
// it serves rather than on every browser's spelling, and an upstream
// cannot pick a coding some client with the same key does not take. A
// range request gets none: ranges are served from the identity body.
func Negotiate(r *http.Request) {
	enc := ""
	if r.Header.Get("Range") == "" {
		enc = choose(r.Header.Values("Accept-Encoding"))
	}
	if enc == "" {
		r.Header.Del("Accept-Encoding")
		return
	}
	r.Header["Accept-Encoding"] = codings[enc]
}

// codings are the Accept-Encoding values Negotiate sets, shared and never
// modified.
var codings = map[string][]string{"zstd": {"zstd"}, "gzip": {"gzip"}}

// maxCodings bounds the work on a hostile Accept-Encoding.
const maxCodings = 32

// choose picks zstd or gzip by q-value (zstd on a tie), "" when the client
// takes neither. "*" stands for a coding not named.
func choose(lines []string) string {
	q := map[string]float64{}
	n := 0
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ",") {
			if n++; n > maxCodings {
				break
			}
			name, params, _ := strings.Cut(part, ";")
			q[strings.ToLower(strings.TrimSpace(name))] = qValue(params)
		}
	}
	get := func(c string) float64 {
		if v, ok := q[c]; ok {
			return v
		}
		if v, ok := q["*"]; ok {
			return v
		}
		return 0
	}
	zstd, gzip := get("zstd"), get("gzip")
	switch {
	case zstd > 0 && zstd >= gzip:
		return "zstd"
	case gzip > 0:
		return "gzip"
	}
	return ""
}

// qValue reads ";q=0.5" (1 when absent, 0 when malformed).
func qValue(params string) float64 {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				return 0
			}
			return f
		}
	}
	return 1
}
