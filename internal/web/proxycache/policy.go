package proxycache

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// directives is what a response's Cache-Control says to a shared cache
// (RFC 9111 §5.2.2). A negative duration means "not given".
type directives struct {
	noStore, private, noCache, mustRevalidate bool
	sMaxAge, maxAge, swr, sie                 time.Duration
}

// maxDirectives bounds the work on a hostile Cache-Control.
const maxDirectives = 32

func parseCacheControl(h http.Header) directives {
	d := directives{sMaxAge: -1, maxAge: -1, swr: -1, sie: -1}
	n := 0
	for _, line := range h.Values("Cache-Control") {
		for part := range strings.SplitSeq(line, ",") {
			if n++; n > maxDirectives {
				return d
			}
			name, val, _ := strings.Cut(strings.TrimSpace(part), "=")
			val = strings.Trim(strings.TrimSpace(val), `"`)
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store":
				d.noStore = true
			case "private":
				d.private = true
			case "no-cache":
				d.noCache = true
			case "must-revalidate", "proxy-revalidate":
				d.mustRevalidate = true
			case "s-maxage":
				d.sMaxAge = seconds(val)
			case "max-age":
				d.maxAge = seconds(val)
			case "stale-while-revalidate":
				d.swr = seconds(val)
			case "stale-if-error":
				d.sie = seconds(val)
			}
		}
	}
	return d
}

// seconds reads a delta-seconds value; a malformed one is 0 (RFC 9111
// §1.2.2 says to treat an invalid max-age as stale), a huge one is capped.
func seconds(v string) time.Duration {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0
	}
	return time.Duration(min(n, 1<<31)) * time.Second
}

// heuristic are the statuses a cache may store without explicit freshness
// (RFC 9110 §15.1); the route's TTL is their lifetime.
var heuristic = map[int]bool{200: true, 203: true, 204: true, 300: true, 301: true, 308: true,
	404: true, 405: true, 410: true, 414: true, 501: true}

// lifetime is how long a response stays fresh, and whether a shared cache
// may store it at all: never with no-store, private, no-cache (which would
// need revalidation on every use) or Set-Cookie. (Vary: * is varyNames'.)
func lifetime(status int, h http.Header, d directives, now time.Time, ttl time.Duration) (time.Duration, bool) {
	if d.noStore || d.private || d.noCache || len(h.Values("Set-Cookie")) > 0 {
		return 0, false
	}
	switch {
	case d.sMaxAge >= 0:
		return d.sMaxAge, true
	case d.maxAge >= 0:
		return d.maxAge, true
	}
	if exp := h.Get("Expires"); exp != "" {
		t, err := http.ParseTime(exp)
		if err != nil {
			return 0, true // an invalid Expires is in the past: stored stale
		}
		date := now
		if dt, err := http.ParseTime(h.Get("Date")); err == nil {
			date = dt
		}
		return max(t.Sub(date), 0), true
	}
	if !heuristic[status] {
		return 0, false
	}
	return ttl, true
}

// ageOf is the Age the upstream (or a cache before it) reported.
func ageOf(h http.Header) time.Duration {
	if v := h.Get("Age"); v != "" {
		return seconds(v)
	}
	return 0
}
