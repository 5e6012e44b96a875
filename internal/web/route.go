package web

import (
	"context"
	"net/http"
	"path"
	"regexp"
	"strings"

	"bartleby/internal/config"
	"bartleby/internal/web/proxycache"
)

// matcher is the condition of one route: a path prefix, a set of file
// extensions, an anchored regular expression, or nothing (matches all).
type matcher struct {
	prefix string
	ext    map[string]bool
	re     *regexp.Regexp
}

func newMatcher(rc *config.Route, re *regexp.Regexp) matcher {
	m := matcher{prefix: rc.Path, re: re}
	if len(rc.Ext) > 0 {
		m.ext = map[string]bool{}
		for _, e := range rc.Ext {
			m.ext[e] = true
		}
	}
	return m
}

// match reports whether the clean request path p is this route's.
func (m matcher) match(p string) bool {
	switch {
	case m.prefix != "":
		return matchPrefix(p, m.prefix)
	case m.ext != nil:
		return m.ext[extOf(p)]
	case m.re != nil:
		return m.re.MatchString(p)
	}
	return true
}

// matchPrefix reports whether the path p is under prefix, the way a
// backend may read it: ASCII case does not count (IIS, Windows and macOS
// file systems, Express and ASP.NET routes take "/WP-ADMIN/" for
// "/wp-admin/"), and a prefix ending in "/" also takes the directory
// without its slash ("/wp-admin", which most applications serve as
// "/wp-admin/"). Otherwise a rule on a prefix would be dodged by a
// spelling the backend reads as the same place. Exempt paths (maintenance)
// stay exact: they open a way, so the strict reading is the safe one.
func matchPrefix(p, prefix string) bool {
	if hasPrefixFold(p, prefix) {
		return true
	}
	return len(prefix) > 1 && strings.HasSuffix(prefix, "/") && equalFoldASCII(p, prefix[:len(prefix)-1])
}

// matchForm is the path that routes match: p with the dots and spaces
// that end a segment removed, as Windows and IIS do ("/wp-admin./" and
// "/wp-admin%20/" open "/wp-admin/" there, "shell.php." runs shell.php).
// The action still gets p as it came.
func matchForm(p string) string {
	if !strings.Contains(p, "./") && !strings.Contains(p, " /") && !strings.HasSuffix(p, ".") && !strings.HasSuffix(p, " ") {
		return p
	}
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		segs[i] = strings.TrimRight(seg, ". ")
	}
	return strings.Join(segs, "/")
}

// hasPrefixFold is strings.HasPrefix with ASCII case not counting.
func hasPrefixFold(p, prefix string) bool {
	return len(p) >= len(prefix) && equalFoldASCII(p[:len(prefix)], prefix)
}

// equalFoldASCII compares a and b folding ASCII letters only: no backend
// takes the Kelvin sign for "k".
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// extOf is the lower-case extension of the last path segment, without the
// dot: "css" for "/a/b.CSS", "" for "/a.d/b".
func extOf(p string) string {
	base := p[strings.LastIndexByte(p, '/')+1:]
	i := strings.LastIndexByte(base, '.')
	if i < 0 {
		return ""
	}
	return strings.ToLower(base[i+1:])
}

// route is one matcher and what it does.
type route struct {
	matcher
	strip string
	h     http.Handler
	cache *proxycache.Cache // nil without one
}

// serve runs the route's action, with strip_prefix applied to the path.
func (rt *route) serve(w http.ResponseWriter, r *http.Request) {
	if r = rt.request(r); r == nil {
		http.Error(w, "400 bad request: invalid path", http.StatusBadRequest)
		return
	}
	rt.h.ServeHTTP(w, r)
}

// request is r as the route's action sees it, strip_prefix applied; nil
// when stripping leaves an invalid path.
func (rt *route) request(r *http.Request) *http.Request {
	p, ok := stripPath(r.URL.Path, rt.strip)
	if !ok {
		return nil
	}
	if p == r.URL.Path {
		return r
	}
	orig := r.URL.Path
	r = withPath(r, p)
	return r.WithContext(context.WithValue(r.Context(), origPathKey{}, orig))
}

// stripPath removes prefix (in any ASCII case, as routes match) from the clean path p and checks the rest again:
// stripping "/w" from "/w.." must not make "/..".
func stripPath(p, prefix string) (string, bool) {
	if prefix == "" || !hasPrefixFold(p, prefix) {
		return p, true
	}
	return cleanPath("/" + p[len(prefix):])
}

// router tries a site's routes in order.
type router []*route

// ServeHTTP runs the first route matching the path, which cleanPaths has
// made clean.
func (rs router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rt := rs.match(r.URL.Path); rt != nil {
		rt.serve(w, r)
		return
	}
	http.NotFound(w, r)
}

// match is the first route of the clean path p, nil for none.
func (rs router) match(p string) *route {
	p = matchForm(p)
	for _, rt := range rs {
		if rt.match(p) {
			return rt
		}
	}
	return nil
}

// cleanPaths checks and cleans the request path before anything looks at
// it: the maintenance exemptions, the routes and the upstream all see the
// same clean path.
func cleanPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := cleanPath(r.URL.Path)
		if !ok {
			http.Error(w, "400 bad request: invalid path", http.StatusBadRequest)
			return
		}
		if p != r.URL.Path {
			r = withPath(r, p)
		}
		dropManyRanges(r)
		next.ServeHTTP(w, r)
	})
}

// maxRanges is the most ranges one request may ask for (Apache's
// MaxRanges is 200; browsers and download managers ask for one).
const maxRanges = 16

// dropManyRanges removes a Range header of more than maxRanges ranges: the
// answer is then the whole body (RFC 9110 §14.2 lets a server ignore
// Range). Hundreds of tiny ranges would cost a multipart header each, a
// hundred bytes sent for every byte asked for, here or at the upstream.
func dropManyRanges(r *http.Request) {
	if v, ok := r.Header["Range"]; ok && (len(v) != 1 || strings.Count(v[0], ",") >= maxRanges) {
		delete(r.Header, "Range")
	}
}

// cleanPath refuses paths that are not absolute, hold a NUL, a backslash,
// a ";" or a ".." segment (encoded or not: Go has decoded %2e%2e and %3b
// by now), and collapses "//" and "/./" so that a route cannot be dodged
// by spelling its prefix differently. A trailing slash is kept, and a
// trailing "/." becomes one ("/wp-admin/." is the directory "/wp-admin/"). ";" starts
// a path parameter in Tomcat, Spring and Jetty, which read "/public/..;/x"
// as "/x": a path that means one thing here and another upstream is
// refused rather than guessed at.
func cleanPath(p string) (string, bool) {
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\x00\\;") {
		return "", false
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == ".." {
			return "", false
		}
	}
	c := path.Clean(p)
	if (strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.")) && c != "/" {
		c += "/"
	}
	return c, true
}

// withPath returns a shallow copy of r with a new decoded path; RawPath is
// dropped so the two cannot disagree.
func withPath(r *http.Request, p string) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = p, ""
	r2.URL = &u
	return r2
}

type origPathKey struct{}

// originalPath is the clean path before strip_prefix, for redirects and
// listings the client must understand.
func originalPath(r *http.Request) string {
	if p, ok := r.Context().Value(origPathKey{}).(string); ok {
		return p
	}
	return r.URL.Path
}

// redirect answers with code and a target whose {path}, {query} and {uri}
// are the request's (after strip_prefix).
type redirect struct {
	target string
	code   int
}

func (rd redirect) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	uri := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		uri += "?" + r.URL.RawQuery
	}
	t := strings.NewReplacer("{path}", r.URL.EscapedPath(), "{query}", r.URL.RawQuery, "{uri}", uri).Replace(rd.target)
	w.Header().Set("Location", t)
	w.WriteHeader(rd.code)
}

// respond answers with a fixed status and body.
type respond struct {
	body   string
	status int
}

func (rs respond) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(rs.status)
	if r.Method != http.MethodHead {
		w.Write([]byte(rs.body))
	}
}
