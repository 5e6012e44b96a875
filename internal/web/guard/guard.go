// Package guard holds a route's access rules and limits, checked before its
// action runs: client address lists (403), basic auth (401), a request rate
// per client address (429), a request body limit (413).
package guard

import (
	"net/http"
	"net/netip"
	"strconv"
	"time"
)

// ClientFunc names the client of a request (by the trusted-proxies rule).
type ClientFunc func(*http.Request) netip.Addr

// Rules are one route's checks; a zero field checks nothing.
type Rules struct {
	Allow, Deny []netip.Prefix
	Auth        *BasicAuth
	Rate        *RateLimiter
	MaxBody     int64 // bytes; 0 for no limit
	Client      ClientFunc
}

// Wrap puts the rules in front of next.
func (g *Rules) Wrap(next http.Handler) http.Handler {
	if len(g.Allow) == 0 && len(g.Deny) == 0 && g.Auth == nil && g.Rate == nil && g.MaxBody == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := g.Client(r)
		if !g.admits(ip) {
			http.Error(w, "403 forbidden", http.StatusForbidden)
			return
		}
		if g.Rate != nil {
			if wait, ok := g.Rate.Allow(ip, time.Now()); !ok {
				tooMany(w, wait)
				return
			}
		}
		if g.Auth != nil && !g.Auth.check(w, r, ip) {
			return
		}
		if g.MaxBody > 0 {
			if r.ContentLength > g.MaxBody {
				http.Error(w, "413 request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			// A body without a length (chunked) is cut at the limit: the
			// upstream sees a read error, the client a 413 or 502.
			r.Body = http.MaxBytesReader(w, r.Body, g.MaxBody)
		}
		next.ServeHTTP(w, r)
	})
}

// admits applies deny, then allow (an empty allow admits everyone).
func (g *Rules) admits(ip netip.Addr) bool {
	for _, p := range g.Deny {
		if p.Contains(ip) {
			return false
		}
	}
	if len(g.Allow) == 0 {
		return true
	}
	for _, p := range g.Allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func tooMany(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.FormatInt(int64(max(wait.Round(time.Second)/time.Second, 1)), 10))
	http.Error(w, "429 too many requests", http.StatusTooManyRequests)
}
