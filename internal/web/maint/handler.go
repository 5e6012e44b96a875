package maint

import (
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
	"time"

	"bartleby/internal/config"
	"bartleby/internal/realip"
)

// bypassPrefix is the secret bypass URL's. ACME challenges need no
// exemption: with [acme] bartleby's own solver answers them on the plain
// listener before any site (certs.HTTPChallenge); without it a challenge
// path is like any other, and a backend that answers challenges itself
// gets it through maintenance only when listed in exempt.
const bypassPrefix = "/.well-known/bartleby/bypass/"

// BypassHeader marks responses that went past the maintenance page, so the
// admin sees that they are bypassing.
const BypassHeader = "X-Bartleby-Maintenance"

var hdrBypass = []string{"bypass"}

// Handler wraps a site's handler. When the site is in maintenance (or
// when_backend_down is set and backendDown reports every upstream failing)
// requests get the 503 page, except exempt paths and
// bypassing clients, which go to next; bypassing responses carry
// BypassHeader. The secret bypass URL is answered here. backendDown may be
// nil. With when_backend_down, a request that goes to next while the
// backend is up goes through a failover: the failure that takes the
// backend down gets the 503 page too.
func (m *Manager) Handler(cs *config.Site, next http.Handler, backendDown func(*http.Request) bool) http.Handler {
	name := Name(cs)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := m.snap.Load().sites[name]
		if st == nil {
			next.ServeHTTP(w, r)
			return
		}
		path := r.URL.Path
		resp := m.down(st, r, backendDown)
		if strings.HasPrefix(path, bypassPrefix) && st.cfg.cookieKey != nil && m.secretURL(st, w, r) {
			return
		}
		if resp == nil && st.cfg.whenBackendDown && backendDown != nil && !st.cfg.exempted(path) {
			next.ServeHTTP(&failover{ResponseWriter: w, m: m, st: st, r: r, backendDown: backendDown,
				kept: w.Header().Clone()}, r)
			return
		}
		if resp == nil || st.cfg.exempted(path) {
			next.ServeHTTP(w, r)
			return
		}
		now := m.now()
		if st.cfg.bypasses(r, now) {
			w.Header()[BypassHeader] = hdrBypass
			next.ServeHTTP(w, r)
			return
		}
		resp.serve(w, r, now)
	})
}

// down returns the 503 to serve, or nil when the site is up.
func (m *Manager) down(st *site, r *http.Request, backendDown func(*http.Request) bool) *response {
	if st.mode != nil && m.active(st.mode) {
		return st.resp
	}
	if st.cfg.whenBackendDown && backendDown != nil && backendDown(r) {
		if st.mode != nil { // ended a moment ago; the timer has not run yet
			return st.cfg.render(nil, m.now())
		}
		return st.resp
	}
	return nil
}

// secretURL answers /.well-known/bartleby/bypass/TOKEN: the right token
// (exact, case-sensitive, no trailing slash) gets the bypass cookie and a
// redirect to the home page, and secretURL returns true. A wrong token
// returns false: the request is then treated as any other (the 503 page
// during maintenance), so it learns nothing.
func (m *Manager) secretURL(st *site, w http.ResponseWriter, r *http.Request) bool {
	token := strings.TrimPrefix(r.URL.Path, bypassPrefix)
	if subtle.ConstantTimeCompare([]byte(token), []byte(st.cfg.token)) != 1 {
		return false
	}
	now := m.now()
	exp := now.Add(st.cfg.cookieLifetime)
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    signCookie(st.cfg.cookieKey, st.name, exp),
		Path:     "/",
		Expires:  exp,
		MaxAge:   int(st.cfg.cookieLifetime / time.Second),
		Secure:   st.cfg.cookieSecure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	w.Header()["Cache-Control"] = hdrNoStore
	w.Header()[BypassHeader] = hdrBypass
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return true
}

// bypasses reports whether the request comes from the allowlist or carries
// a valid bypass cookie for this site.
func (sc *siteConfig) bypasses(r *http.Request, now time.Time) bool {
	if len(sc.allow) > 0 {
		if ip, ok := realip.From(r, sc.trusted); ok && realip.Contains(sc.allow, ip) {
			return true
		}
	}
	return sc.cookieKey != nil && validCookie(r, sc.cookieKey, sc.name, now)
}

// wantsJSON reports whether the client prefers JSON to HTML: it names
// application/json (or application/*+json) with a non-zero quality and
// does not rank text/html higher. It runs for every 503, so it allocates
// nothing.
func wantsJSON(r *http.Request) bool {
	accept := r.Header["Accept"]
	if !slices.ContainsFunc(accept, mentionsJSON) { // a browser's Accept: nothing to parse
		return false
	}
	var qJSON, qHTML float64 = -1, -1
	for _, line := range accept {
		if len(line) > 1024 {
			return false
		}
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ",")
			typ, q := mediaRange(part)
			switch {
			case isJSONType(typ):
				qJSON = max(qJSON, q)
			case equalFoldASCII(typ, "text/html") || equalFoldASCII(typ, "application/xhtml+xml"):
				qHTML = max(qHTML, q)
			}
		}
	}
	return qJSON > 0 && qJSON >= qHTML
}

// mentionsJSON reports whether s contains "json" in any case: without it
// no media range in s is JSON, and text/html's quality does not matter.
func mentionsJSON(s string) bool {
	for i := 0; i+4 <= len(s); i++ {
		if s[i]|0x20 == 'j' && equalFoldASCII(s[i:i+4], "json") {
			return true
		}
	}
	return false
}

// isJSONType reports whether a media type (any case) is application/json
// or application/*+json.
func isJSONType(typ string) bool {
	const app, suffix = "application/", "+json"
	return equalFoldASCII(typ, "application/json") ||
		len(typ) >= len(app) && equalFoldASCII(typ[:len(app)], app) &&
			len(typ) >= len(suffix) && equalFoldASCII(typ[len(typ)-len(suffix):], suffix)
}

// equalFoldASCII reports whether s is lower (lower-case ASCII) in any case.
// Unlike strings.EqualFold it folds no other letter: "ſ" is not "s".
func equalFoldASCII(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// mediaRange splits "type/sub;q=0.5" into the type (as sent, trimmed) and
// its quality.
func mediaRange(s string) (string, float64) {
	typ, params, _ := strings.Cut(s, ";")
	q := 1.0
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(k, "q") {
			q = parseQ(v)
		}
	}
	return strings.TrimSpace(typ), q
}

// parseQ reads an HTTP quality value (0 to 1, three decimals at most); a
// malformed one counts as 0.
func parseQ(v string) float64 {
	if v == "" || len(v) > 5 || (v[0] != '0' && v[0] != '1') {
		return 0
	}
	q := float64(v[0] - '0')
	if len(v) == 1 {
		return q
	}
	if v[1] != '.' {
		return 0
	}
	scale := 0.1
	for _, c := range v[2:] {
		if c < '0' || c > '9' {
			return 0
		}
		q += float64(c-'0') * scale
		scale /= 10
	}
	return min(q, 1)
}
