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
	TTL                  Duration `toml:"ttl"`                    // when the upstream says nothing; default 10m
	MaxSize              Size     `toml:"max_size"`               // memory for entries; default 64MiB
	StaleIfError         Duration `toml:"stale_if_error"`         // default 1h
	StaleWhileRevalidate Duration `toml:"stale_while_revalidate"` // default 0s (only the upstream's)
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

// Route defaults and bounds of the access and limit keys.
const (
	DefaultCacheTTL          = 10 * time.Minute
	DefaultCacheMaxSize      = 64 << 20
	DefaultCacheStaleIfError = time.Hour
	maxRouteListItems        = 1000
)

// RateLimit is `rate_limit = "10/m"` parsed: Events per Per.
type RateLimit struct {
	Events int
	Per    time.Duration
}

// checkAccessAndLimits checks the route keys that apply to every action:
// allow, deny, basic_auth, rate_limit, max_body, headers, compress, cache.
func (r *Route) checkAccessAndLimits(c *checker, key string) {
	if len(r.Allow)+len(r.Deny) > maxRouteListItems {
		c.errorf(key+".allow", "allow and deny hold at most %d entries", maxRouteListItems)
	}
	r.AllowNets = c.prefixes(key+".allow", r.Allow)
	r.DenyNets = c.prefixes(key+".deny", r.Deny)
	for name, hash := range r.BasicAuth {
		if name == "" || strings.ContainsAny(name, ":\x00") {
			c.errorf(key+".basic_auth", "%q is not a user name", name)
		}
		if !strings.HasPrefix(hash, "$2a$") && !strings.HasPrefix(hash, "$2b$") && !strings.HasPrefix(hash, "$2y$") {
			c.errorf(key+".basic_auth."+name, "must be a bcrypt hash (make one with `bartleby admin hash-password`)")
		}
	}
	if r.RateLimit != "" {
		rl, err := ParseRateLimit(r.RateLimit)
		if err != nil {
			c.errorf(key+".rate_limit", "%v", err)
		}
		r.Rate = rl
	}
	if r.RateBurst < 0 || (r.RateBurst > 0 && r.RateLimit == "") {
		c.errorf(key+".rate_burst", "goes with rate_limit and must be positive")
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
					c.errorf(key+".headers."+h, "a header value cannot hold a line break or NUL")
				}
			}
		}
	}
	r.checkCache(c, key)
}

func checkHeaderName(c *checker, key, name string) {
	if name == "" {
		c.errorf(key, "empty header name")
	}
	for _, ch := range name {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", ch)) {
			c.errorf(key, "%q is not a header name", name)
			return
		}
	}
}

func (r *Route) checkCache(c *checker, key string) {
	if r.Cache == nil {
		return
	}
	ck := key + ".cache"
	if r.Proxy == nil {
		c.errorf(ck, "cache goes with proxy")
	}
	rc := r.Cache
	ttlKey := ck // the short form, cache = "10m"
	if c.has(ck + ".ttl") {
		ttlKey = ck + ".ttl"
	}
	c.duration(ttlKey, rc.TTL)
	c.size(ck+".max_size", rc.MaxSize)
	c.duration(ck+".stale_if_error", rc.StaleIfError)
	c.duration(ck+".stale_while_revalidate", rc.StaleWhileRevalidate)
	if rc.MaxSize.raw != "" && rc.MaxSize.Bytes < 1<<20 {
		c.errorf(ck+".max_size", "must be at least 1MiB")
	}
	if len(rc.BypassCookies) > maxRouteListItems {
		c.errorf(ck+".bypass_cookies", "at most %d globs", maxRouteListItems)
	}
	for i, g := range rc.BypassCookies {
		if _, err := path.Match(g, ""); err != nil || g == "" {
			c.errorf(fmt.Sprintf("%s.bypass_cookies[%d]", ck, i+1), "%q is not a cookie name glob (like \"wordpress_logged_in_*\")", g)
		}
	}
}

// ParseRateLimit reads "10/m": a count per second, minute, hour or day.
func ParseRateLimit(s string) (RateLimit, error) {
	bad := fmt.Errorf("%q is not a rate (like \"10/m\": requests per s, m, h or d)", s)
	n, unit, ok := strings.Cut(s, "/")
	events, err := strconv.Atoi(n)
	if !ok || err != nil || events < 1 || events > 1_000_000 {
		return RateLimit{}, bad
	}
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[unit]
	if per == 0 {
		return RateLimit{}, bad
	}
	return RateLimit{Events: events, Per: per}, nil
}

// CompressOn reports whether the route compresses (the default).
func (r *Route) CompressOn() bool { return r.Compress == nil || *r.Compress }
