package config

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// RouteCache is a proxy route's cache: `cache = "10m"` (the TTL, other
// keys at their defaults) or a [site.route.cache] table.
type RouteCache struct {
	TTL                  Duration `toml:"ttl"`                    // when the upstream says nothing
	MaxSize              Size     `toml:"max_size"`               // memory for entries
	StaleIfError         Duration `toml:"stale_if_error"`         // how long a stale copy stands in for a down upstream
	StaleWhileRevalidate Duration `toml:"stale_while_revalidate"` // beyond the upstream's own
	BypassCookies        []string `toml:"bypass_cookies"`         // cookie name globs
	XCache               bool     `toml:"x_cache"`                // add X-Cache: HIT | MISS | STALE
}

// UnmarshalText reads the short form, `cache = "10m"`.
func (rc *RouteCache) UnmarshalText(b []byte) error { return rc.TTL.UnmarshalText(b) }

// RouteHeaders change a route's responses.
type RouteHeaders struct {
	Set    map[string]string `toml:"set"`    // replace
	Add    map[string]string `toml:"add"`    // add another value
	Remove []string          `toml:"remove"` // delete
}

// Bounds of the route access and limit keys.
const (
	maxRouteListItems = 1000
	minCacheSize      = 1 << 20
	maxRateEvents     = 1_000_000
)

// checkAccessAndLimits checks the syntax of the route keys that apply to
// every action: allow, deny, basic_auth, rate_burst, max_body, headers,
// cache, rate_limit. The web part compiles them.
func (r *Route) checkAccessAndLimits(c *Checker, key string) {
	if len(r.Allow)+len(r.Deny) > maxRouteListItems {
		c.Errorf(key+".allow", "allow and deny hold at most %d entries", maxRouteListItems)
	}
	c.prefixes(key+".allow", r.Allow)
	c.prefixes(key+".deny", r.Deny)
	for name, hash := range r.BasicAuth {
		if name == "" || strings.ContainsAny(name, ":\x00") {
			c.Errorf(key+".basic_auth", "%q is not a user name", name)
		}
		if !strings.HasPrefix(hash, "$2a$") && !strings.HasPrefix(hash, "$2b$") && !strings.HasPrefix(hash, "$2y$") {
			c.Errorf(key+".basic_auth."+name, "must be a bcrypt hash (make one with `bartleby admin hash-password`)")
		}
	}
	if r.RateLimit != "" {
		if _, _, err := ParseRate(r.RateLimit); err != nil {
			c.Errorf(key+".rate_limit", "%v", err)
		}
	}
	if r.RateBurst < 0 || (r.RateBurst > 0 && r.RateLimit == "") {
		c.Errorf(key+".rate_burst", "goes with rate_limit and must be positive")
	}
	c.size(key+".max_body", r.MaxBody)
	if r.Headers != nil {
		for _, h := range r.Headers.Remove {
			checkHeaderName(c, key+".headers.remove", h)
		}
		for _, m := range []map[string]string{r.Headers.Set, r.Headers.Add} {
			for h, v := range m {
				checkHeaderName(c, key+".headers", h)
				if strings.ContainsAny(v, "\r\n\x00") {
					c.Errorf(key+".headers."+h, "a header value cannot hold a line break or NUL")
				}
			}
		}
	}
	r.checkCache(c, key)
}

func checkHeaderName(c *Checker, key, name string) {
	if name == "" {
		c.Errorf(key, "empty header name")
	}
	for _, ch := range name {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", ch)) {
			c.Errorf(key, "%q is not a header name", name)
			return
		}
	}
}

func (r *Route) checkCache(c *Checker, key string) {
	if r.Cache == nil {
		return
	}
	ck := key + ".cache"
	if r.Proxy == nil {
		c.Errorf(ck, "cache goes with proxy")
	}
	rc := r.Cache
	ttlKey := ck // the short form, cache = "10m"
	if c.Has(ck + ".ttl") {
		ttlKey = ck + ".ttl"
	}
	c.duration(ttlKey, rc.TTL)
	c.size(ck+".max_size", rc.MaxSize)
	c.duration(ck+".stale_if_error", rc.StaleIfError)
	c.duration(ck+".stale_while_revalidate", rc.StaleWhileRevalidate)
	if rc.MaxSize.err == nil && rc.MaxSize.Bytes < minCacheSize {
		c.Errorf(ck+".max_size", "must be at least 1MiB")
	}
	if len(rc.BypassCookies) > maxRouteListItems {
		c.Errorf(ck+".bypass_cookies", "at most %d globs", maxRouteListItems)
	}
	for i, g := range rc.BypassCookies {
		if _, err := path.Match(g, ""); err != nil || g == "" {
			c.Errorf(fmt.Sprintf("%s.bypass_cookies[%d]", ck, i+1), "%q is not a cookie name glob (like \"wordpress_logged_in_*\")", g)
		}
	}
}

// ParseRate reads a rate_limit, "10/m": so many events per second, minute,
// hour or day.
func ParseRate(s string) (events int, per time.Duration, err error) {
	bad := fmt.Errorf("%q is not a rate (like \"10/m\": requests per s, m, h or d)", s)
	n, unit, ok := strings.Cut(s, "/")
	events, err = strconv.Atoi(n)
	if !ok || err != nil || events < 1 || events > maxRateEvents {
		return 0, 0, bad
	}
	per = map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[unit]
	if per == 0 {
		return 0, 0, bad
	}
	return events, per, nil
}

// defaultRateBurst makes a route's burst its rate's count when not given.
func (r *Route) defaultRateBurst() {
	if events, _, err := ParseRate(r.RateLimit); err == nil && r.RateBurst == 0 {
		r.RateBurst = events
	}
}
