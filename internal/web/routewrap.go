package web

import (
	"net/http"
	"net/netip"

	"bartleby/internal/config"
	"bartleby/internal/web/compress"
	"bartleby/internal/web/guard"
	"bartleby/internal/web/proxycache"
)

// wrapRoute puts around a route's action, outermost first: its access
// rules and limits, its response header edits, its cache (proxy routes),
// its compression. p is the route's proxy, nil for other actions; c is the
// route's cache, nil without one.
func (t *table) wrapRoute(s *site, rc *config.Route, spec routeSpec, h http.Handler, p *proxy) (_ http.Handler, c *proxycache.Cache) {
	if *rc.Compress {
		h = compress.Handler(h)
	}
	if rc.Cache != nil && p != nil {
		c = proxycache.New(t.cacheConfig(s.name, rc, p), h)
		t.closers = append(t.closers, c)
		s.caches = append(s.caches, c)
		h = c
	}
	h = editHeaders(rc.Headers, h)
	g := &guard.Rules{Allow: spec.allow, Deny: spec.deny, MaxBody: rc.MaxBody.Bytes,
		Client: func(r *http.Request) netip.Addr { return clientAddr(r, t.trusted) }}
	if len(rc.BasicAuth) > 0 {
		g.Auth = guard.NewBasicAuth(s.name, rc.BasicAuth)
	}
	if spec.rateEvents > 0 {
		g.Rate = guard.NewRateLimiter(spec.rateEvents, spec.ratePer, rc.RateBurst)
	}
	return g.Wrap(h), c
}

func (t *table) cacheConfig(site string, rc *config.Route, p *proxy) proxycache.Config {
	cc := rc.Cache
	cfg := proxycache.Config{Site: site, TTL: cc.TTL.Duration, StaleIfError: cc.StaleIfError.Duration,
		StaleWhileRevalidate: cc.StaleWhileRevalidate.Duration, MaxSize: cc.MaxSize.Bytes,
		BypassCookies: cc.BypassCookies, XCache: cc.XCache,
		Path: originalPath, Down: p.down, Metrics: t.metrics.cache}
	if *rc.Compress {
		cfg.Prepare = compress.Negotiate
	}
	return cfg
}

// editHeaders applies a route's headers table to its responses, when
// they are written.
func editHeaders(hc *config.RouteHeaders, next http.Handler) http.Handler {
	if hc == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&headerEditor{ResponseWriter: w, hc: hc}, r)
	})
}

type headerEditor struct {
	http.ResponseWriter
	hc   *config.RouteHeaders
	done bool
}

func (he *headerEditor) edit() {
	if he.done {
		return
	}
	he.done = true
	h := he.ResponseWriter.Header()
	for _, k := range he.hc.Remove {
		h.Del(k)
	}
	for k, v := range he.hc.Set {
		h.Set(k, v)
	}
	for k, v := range he.hc.Add {
		h.Add(k, v)
	}
}

func (he *headerEditor) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		he.edit()
	}
	he.ResponseWriter.WriteHeader(code)
}

func (he *headerEditor) Write(b []byte) (int, error) {
	he.edit()
	return he.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flush,
// deadlines, hijack).
func (he *headerEditor) Unwrap() http.ResponseWriter { return he.ResponseWriter }
