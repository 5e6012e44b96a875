// Package proxycache is a shared HTTP cache (RFC 9111) in front of one
// proxy route, as Varnish or nginx proxy_cache are: it stores the
// upstream's cacheable GET answers in memory (LRU, bounded in bytes), sends
// one request upstream for many concurrent misses, serves stale copies
// while revalidating or while the upstream fails, and is bypassed for
// requests that carry credentials.
package proxycache

import (
	"bytes"
	"context"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
)

// Config is one route's cache.
type Config struct {
	Site                 string
	TTL                  time.Duration // freshness when the upstream says nothing
	StaleIfError         time.Duration // unless the upstream's stale-if-error says otherwise
	StaleWhileRevalidate time.Duration // unless the upstream's stale-while-revalidate says otherwise
	MaxSize              int64         // bytes of memory for entries
	BypassCookies        []string      // cookie name globs ("wordpress_logged_in_*")
	XCache               bool          // add X-Cache: HIT | MISS | STALE
	// Path is the request's path for keys and purges (before any
	// strip_prefix); r.URL.Path when nil.
	Path func(*http.Request) string
	// Prepare normalises the request before its key is made (the route's
	// Accept-Encoding negotiation); may be nil.
	Prepare func(*http.Request)
	// Down reports every upstream failing: a stale entry within
	// stale-if-error is then served without trying them.
	Down    func() bool
	Metrics *Metrics
}

// Limits on what one cache does.
const (
	maxObjectShare  = 8        // an object may take 1/8 of max_size…
	maxObject       = 16 << 20 // …and 16 MiB at most
	maxVary         = 9        // Vary headers (with Accept-Encoding); more are not stored
	fetchTimeout    = 2 * time.Minute
	maxRevalidating = 64 // background refreshes at once
)

// Cache is one route's cache; it is an http.Handler in front of next.
type Cache struct {
	cfg       Config
	next      http.Handler
	store     *store
	flight    singleflight.Group
	maxObject int
	refresh   chan struct{} // a slot per background refresh
	count     counters
	now       func() time.Time
}

// New makes the cache of a route whose action is next.
func New(cfg Config, next http.Handler) *Cache {
	c := &Cache{cfg: cfg, next: next, now: time.Now, refresh: make(chan struct{}, maxRevalidating),
		maxObject: int(min(cfg.MaxSize/maxObjectShare, maxObject)), count: cfg.Metrics.counters(cfg.Site)}
	c.store = newStore(cfg.MaxSize, func(d int64) { c.count.bytes.Add(float64(d)) })
	return c
}

// Close empties the cache of a route that was replaced.
func (c *Cache) Close() error {
	c.store.close()
	return nil
}

// Purge removes the entries whose path starts with prefix ("/" for all)
// and returns how many there were.
func (c *Cache) Purge(prefix string) int { return c.store.purge(prefix) }

// Usable reports whether a request would be answered from the cache
// without the upstream: fresh, or stale within stale-if-error.
func (c *Cache) Usable(r *http.Request) bool {
	if !c.cacheable(r) {
		return false
	}
	r = c.prepare(r)
	e := c.lookup(r, c.key(r))
	return e != nil && e.staleness(c.now()) <= max(e.sie, 0)
}

func (c *Cache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !c.cacheable(r) {
		c.count.pass.Inc()
		c.label(w, "MISS")
		c.next.ServeHTTP(w, r)
		return
	}
	r = c.prepare(r)
	key, now := c.key(r), c.now()
	e := c.lookup(r, key)
	if e != nil {
		switch stale := e.staleness(now); {
		case stale <= 0:
			c.serve(w, r, e, now, "HIT")
			return
		case stale <= e.swr && !c.down():
			c.serve(w, r, e, now, "STALE")
			c.revalidate(r, key)
			return
		case stale <= e.sie && c.down():
			c.serve(w, r, e, now, "STALE")
			return
		}
	}
	c.fetchAndServe(w, r, key, e)
}

// down reports the upstream known to be failing.
func (c *Cache) down() bool { return c.cfg.Down != nil && c.cfg.Down() }

// OverrideHeaders make some applications act on another URL, host or
// method than the request line's (Symfony, Laravel, Zend and IIS read
// X-Original-URL and X-Rewrite-URL; many frameworks honour a method
// override on a POST, some on a GET). The cache key knows nothing of them,
// so one request carrying them could store an answer for everyone: a
// request with any of them is not answered from the cache nor stored.
// (The proxy drops them unless a trusted proxy sent them.)
var OverrideHeaders = []string{"X-Original-Url", "X-Rewrite-Url", "X-Override-Url", "X-Original-Host",
	"X-Host", "X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// cacheable: GET and HEAD without credentials or override headers.
func (c *Cache) cacheable(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if _, ok := r.Header["Authorization"]; ok {
		return false
	}
	for _, k := range OverrideHeaders {
		if _, ok := r.Header[k]; ok {
			return false
		}
	}
	if len(c.cfg.BypassCookies) == 0 || len(r.Header["Cookie"]) == 0 {
		return true
	}
	for _, ck := range r.Cookies() {
		for _, glob := range c.cfg.BypassCookies {
			if ok, _ := path.Match(glob, ck.Name); ok {
				return false
			}
		}
	}
	return true
}

// prepare applies Prepare to a copy of the request's header.
func (c *Cache) prepare(r *http.Request) *http.Request {
	if c.cfg.Prepare == nil {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = r.Header.Clone()
	c.cfg.Prepare(r2)
	return r2
}

// key is the primary cache key: host, path and query.
func (c *Cache) key(r *http.Request) string {
	p := r.URL.Path
	if c.cfg.Path != nil {
		p = c.cfg.Path(r)
	}
	k := strings.ToLower(r.Host) + p
	if r.URL.RawQuery != "" {
		k += "?" + r.URL.RawQuery
	}
	return k
}

func (c *Cache) lookup(r *http.Request, key string) *entry {
	return c.store.get(key, func(names []string) string { return variantOf(r, names) })
}

// variantOf is the request's values of the Vary headers names.
// It is computed for every lookup (every answer varies on
// Accept-Encoding), so it is built in one allocation.
func variantOf(r *http.Request, names []string) string {
	size := 0
	for _, n := range names {
		size += len(n) + 2
		for _, v := range r.Header.Values(n) {
			size += len(v) + 1
		}
	}
	var b strings.Builder
	b.Grow(size)
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte('=')
		for i, v := range r.Header.Values(n) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(v)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func (c *Cache) label(w http.ResponseWriter, v string) {
	if c.cfg.XCache {
		w.Header().Set("X-Cache", v)
	}
}

// serve answers from an entry; the range and conditional headers of the
// request are honoured for 200 answers.
func (c *Cache) serve(w http.ResponseWriter, r *http.Request, e *entry, now time.Time, label string) {
	h := w.Header()
	for k, v := range e.header {
		h[k] = v
	}
	h.Set("Age", strconv.FormatInt(int64(e.currentAge(now)/time.Second), 10))
	c.label(w, label)
	switch label {
	case "HIT":
		c.count.hit.Inc()
	case "STALE":
		c.count.stale.Inc()
		h.Add("Warning", `110 - "Response is Stale"`)
		if e.staleness(now) > e.swr || c.down() {
			h.Add("Warning", `111 - "Revalidation Failed"`)
		}
	}
	if e.status == http.StatusOK && conditional(r) {
		http.ServeContent(w, r, "", e.modTime, bytes.NewReader(e.body))
		return
	}
	h["Content-Length"] = e.length
	w.WriteHeader(e.status)
	if r.Method != http.MethodHead {
		w.Write(e.body)
	}
}

// conditional reports a request that http.ServeContent must answer: a
// range or a precondition. Any other is answered with one write, without
// its copy loop.
func conditional(r *http.Request) bool {
	for _, k := range []string{"Range", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"} {
		if _, ok := r.Header[k]; ok {
			return true
		}
	}
	return false
}

// fetchAndServe asks the upstream once for every concurrent request of the
// same key and variant; stale is the expired entry, if any, for when the
// upstream fails.
func (c *Cache) fetchAndServe(w http.ResponseWriter, r *http.Request, key string, stale *entry) {
	leader := false
	v, _, _ := c.flight.Do(key+"\x00"+variantOf(r, c.store.varyOf(key)), func() (any, error) {
		leader = true
		return c.fetch(upstreamRequest(context.WithoutCancel(r.Context()), r), r, key, w), nil
	})
	res := v.(*result)
	now := c.now()
	switch {
	case leader && res.streamed:
		c.count.miss.Inc()
	case res.failed() && stale != nil && stale.staleness(now) <= stale.sie:
		c.serve(w, r, stale, now, "STALE")
	case res.entry != nil && (leader || res.entry.variant == variantOf(r, res.entry.vary)):
		if leader {
			c.count.miss.Inc()
			c.serve(w, r, res.entry, now, "MISS")
		} else {
			c.serve(w, r, res.entry, now, "HIT")
		}
	case leader || res.shared():
		c.count.miss.Inc()
		c.label(w, "MISS")
		res.writeTo(w, r)
	default: // the leader's answer was not for everyone: ask for ours
		c.count.pass.Inc()
		c.label(w, "MISS")
		c.next.ServeHTTP(w, r)
	}
}

// revalidate refreshes an entry in the background (stale-while-revalidate),
// once per key, with a bounded number at once.
func (c *Cache) revalidate(r *http.Request, key string) {
	select {
	case c.refresh <- struct{}{}:
	default:
		return
	}
	out := upstreamRequest(context.Background(), r)
	go func() {
		defer func() { <-c.refresh }()
		c.flight.Do(key+"\x00"+variantOf(r, c.store.varyOf(key)), func() (any, error) {
			return c.fetch(out, r, key, nil), nil
		})
	}()
}

// upstreamRequest is the request the cache sends: a full GET, without the
// client's range and conditions (the cache answers those), in ctx. ctx is
// never the client's own, so that one client leaving does not fail the
// others: for the request's own miss, it keeps the request's values (the
// access log learns the upstream) without its cancellation; a background
// refresh, which outlives the request, keeps nothing of it.
func upstreamRequest(ctx context.Context, r *http.Request) *http.Request {
	out := r.Clone(ctx)
	out.Method, out.Body, out.ContentLength = http.MethodGet, http.NoBody, 0
	for _, h := range []string{"Range", "If-Range", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since"} {
		out.Header.Del(h)
	}
	return out
}

// fetch runs the route's action for out and stores the answer when it may.
// client, when not nil, gets a body too large to keep as it arrives.
func (c *Cache) fetch(out, in *http.Request, key string, client http.ResponseWriter) *result {
	ctx, cancel := context.WithTimeout(out.Context(), fetchTimeout)
	defer cancel()
	res := &result{header: http.Header{}, limit: c.maxObject, client: client, cancel: cancel}
	if client != nil {
		res.label = c.cfg.XCache
	}
	start := c.now()
	c.next.ServeHTTP(res, out.WithContext(ctx))
	if res.status == 0 {
		res.status = http.StatusOK
	}
	if e := c.entryOf(res, in, key, start); e != nil {
		c.store.put(e)
		res.entry = e
	}
	return res
}

// entryOf makes the entry of an answer, or nil when a shared cache must
// not store it.
func (c *Cache) entryOf(res *result, in *http.Request, key string, start time.Time) *entry {
	if res.streamed || res.broken || res.status < 200 || res.status == http.StatusPartialContent {
		return nil
	}
	d := parseCacheControl(res.header)
	fresh, ok := lifetime(res.status, res.header, d, start, c.cfg.TTL)
	vary := varyNames(res.header)
	if !ok || len(vary) > maxVary || slices.Contains(vary, "*") {
		return nil
	}
	e := &entry{key: key, vary: vary, variant: variantOf(in, vary), status: res.status, body: res.buf.Bytes(),
		storedAt: start, age: ageOf(res.header), fresh: fresh,
		swr: pick(d.swr, c.cfg.StaleWhileRevalidate), sie: pick(d.sie, c.cfg.StaleIfError)}
	if d.mustRevalidate {
		e.swr, e.sie = 0, 0
	}
	e.header = storedHeader(res.header)
	e.length = []string{strconv.Itoa(len(e.body))}
	if t, err := http.ParseTime(res.header.Get("Last-Modified")); err == nil {
		e.modTime = t
	}
	return e
}

// pick is the upstream's directive when given, else the route's.
func pick(upstream, route time.Duration) time.Duration {
	if upstream >= 0 {
		return upstream
	}
	return route
}

// storedHeader is the header kept with an entry: without what the cache
// sets per answer, each value slice clipped so that appending copies.
func storedHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		switch k {
		case "Age", "X-Cache", "Warning", "Set-Cookie", "Content-Length":
			continue
		}
		out[k] = append([]string(nil), vs...)[:len(vs):len(vs)]
	}
	return out
}

// varyNames lists the header names of Vary, canonical; "*" wherever it
// is (on any line, beside other names) means no request can be matched.
// Every answer varies on Accept-Encoding whether the upstream says so or
// not: an upstream that encodes without saying Vary would otherwise get
// its gzip body kept for one client served to one that did not ask for
// it, and its plain answer to another client would replace the variants.
func varyNames(h http.Header) []string {
	names := []string{"Accept-Encoding"}
	for _, line := range h.Values("Vary") {
		for n := range strings.SplitSeq(line, ",") {
			if n = http.CanonicalHeaderKey(strings.TrimSpace(n)); n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
			if len(names) > maxVary {
				return names
			}
		}
	}
	return names
}

// PurgeArgs are the arguments of the "cache.purge" control command.
type PurgeArgs struct {
	Site   string `json:"site"`
	Prefix string `json:"prefix,omitempty"` // "/" when empty
}

// PurgeResult is its answer.
type PurgeResult struct {
	Purged int `json:"purged"`
}
