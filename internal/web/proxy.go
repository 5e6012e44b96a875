package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"bartleby/internal/certs"
	"bartleby/internal/config"
	"bartleby/internal/realip"
	"bartleby/internal/web/maint"
	"bartleby/internal/web/proxycache"
)

// upstream is one backend; a failure takes it out of the rotation until
// downUntil (passive health checking).
type upstream struct {
	url       *url.URL
	downUntil atomic.Int64 // unix nanoseconds
}

func (u *upstream) healthy(now int64) bool { return u.downUntil.Load() <= now }

// proxy forwards requests to a route's upstreams, round robin.
type proxy struct {
	site      string
	ups       []*upstream
	next      atomic.Uint64
	failFor   time.Duration
	rewrite   bool // Host becomes the upstream's
	websocket bool // WebSocket upgrades pass
	trusted   []netip.Prefix
	transport *http.Transport
	rp        *httputil.ReverseProxy
	log       *slog.Logger
}

// bufPool lends the 32 KiB copy buffers every proxied response needs.
type bufPool struct{ p sync.Pool }

func (b *bufPool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bufPool) Put(v []byte) { b.p.Put(&v) }

var buffers = &bufPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}

func newProxy(site string, rc *config.Route, ups []*url.URL, trusted []netip.Prefix, log *slog.Logger) (*proxy, error) {
	p := &proxy{site: site, failFor: rc.FailDuration.Duration,
		rewrite: rc.ProxyHost == "rewrite", websocket: rc.WebSocket, trusted: trusted, log: log}
	for _, u := range ups {
		p.ups = append(p.ups, &upstream{url: u})
	}
	// ServerName is left empty: the transport verifies each upstream's
	// own host name.
	tlsCfg, err := certs.ClientConfig(rc.ProxyCA, "")
	if err != nil {
		return nil, fmt.Errorf("proxy_ca: %w", err)
	}
	dial := rc.DialTimeout.Duration
	p.transport = &http.Transport{
		DialContext:            (&net.Dialer{Timeout: dial, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:        tlsCfg,
		TLSHandshakeTimeout:    dial,
		ResponseHeaderTimeout:  rc.ResponseTimeout.Duration,
		IdleConnTimeout:        rc.IdleTimeout.Duration,
		MaxIdleConnsPerHost:    256,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: maxHeaderBytes,
		ForceAttemptHTTP2:      true,
		// The client's Accept-Encoding goes through as sent; the
		// transport must not add gzip and decode on the client's behalf.
		DisableCompression: true,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewriteRequest,
		ModifyResponse: refuseUnaskedSwitch,
		Transport:      p,
		BufferPool:     buffers,
		ErrorHandler:   p.fail,
		ErrorLog:       slog.NewLogLogger(log.With("event", "web.proxy_error").Handler(), slog.LevelDebug),
	}
	return p, nil
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.rp.ServeHTTP(w, r) }

// Close drops idle upstream connections of a route that was replaced.
func (p *proxy) Close() error {
	p.transport.CloseIdleConnections()
	return nil
}

// down reports whether every upstream is failing.
func (p *proxy) down() bool {
	now := time.Now().UnixNano()
	for _, u := range p.ups {
		if u.healthy(now) {
			return false
		}
	}
	return true
}

// pick returns the next healthy upstream not in tried, or the next one at
// all when every upstream is failing (it may have recovered).
func (p *proxy) pick(tried []*upstream) *upstream {
	start := p.next.Add(1)
	now := time.Now().UnixNano()
	n := uint64(len(p.ups))
	var fallback *upstream
	for i := range n {
		u := p.ups[(start+i)%n]
		if contains(tried, u) {
			continue
		}
		if u.healthy(now) {
			return u
		}
		if fallback == nil {
			fallback = u
		}
	}
	return fallback
}

func contains(list []*upstream, u *upstream) bool {
	for _, x := range list {
		if x == u {
			return true
		}
	}
	return false
}

// RoundTrip sends the request to an upstream. A connection that could not
// be made is retried on the next upstream, since the request has not left;
// other failures are returned, as the upstream may have acted on it.
func (p *proxy) RoundTrip(req *http.Request) (*http.Response, error) {
	var tried []*upstream
	for {
		u := p.pick(tried)
		if u == nil {
			return nil, errors.New("no upstream left to try")
		}
		tried = append(tried, u)
		// req is the ReverseProxy's own outgoing copy (URL included),
		// made for this request alone: aim it at u in place.
		req.URL.Scheme, req.URL.Host = u.url.Scheme, u.url.Host
		if p.rewrite {
			req.Host = u.url.Host
		}
		start := time.Now()
		resp, err := p.transport.RoundTrip(req)
		if err == nil {
			noteUpstream(req.Context(), u.url.Host, time.Since(start))
			return resp, nil
		}
		if req.Context().Err() != nil {
			return nil, err
		}
		// Logged when the upstream goes down, not for every request that
		// finds it down.
		now := time.Now()
		if u.healthy(now.UnixNano()) {
			p.log.Warn("upstream failed; skipping it", "event", "web.upstream_down", "site", p.site, "upstream", u.url.Host, "for", p.failFor, "err", err)
		}
		u.downUntil.Store(now.Add(p.failFor).UnixNano())
		if !dialError(err) || (req.Body != nil && req.Body != http.NoBody) || len(tried) == len(p.ups) {
			return nil, err
		}
	}
}

func dialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// fail answers a request the upstreams could not: 504 on a timeout, 502
// otherwise, as a page in the maintenance look; 408 when the client's body
// stopped coming; nothing when the client has gone.
func (p *proxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	if bodyTimedOut(r) {
		w.Header()["Connection"] = hdrClose
		maint.ErrorPage(w, r, http.StatusRequestTimeout, p.site, "Your request's body stopped coming: please send it again.")
		return
	}
	if errors.Is(r.Context().Err(), context.Canceled) {
		return
	}
	status, msg := http.StatusBadGateway, "The application behind this site is not answering. Please try again in a moment."
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		status, msg = http.StatusGatewayTimeout, "The application behind this site took too long to answer. Please try again in a moment."
	}
	maint.ErrorPage(w, r, status, p.site, msg)
}

// refuseUnaskedSwitch turns a 101 to a request that asked for no upgrade
// into an error (502): httputil.ReverseProxy would otherwise make it a raw
// tunnel, since "no upgrade" asked and "no upgrade" named look alike to it.
func refuseUnaskedSwitch(resp *http.Response) error {
	if resp.StatusCode == http.StatusSwitchingProtocols && resp.Request.Header.Get("Upgrade") == "" {
		return errors.New("upstream switched protocols without an Upgrade asked for")
	}
	return nil
}

// rewriteRequest sets the forwarding headers. The client's own
// X-Forwarded-* and X-Real-IP are believed only from a trusted proxy;
// otherwise they are replaced, so an upstream can rely on them. Headers
// that name the client in another dialect, or whose names only some
// software reads as a forwarding header, are dropped (stripSpoofable); an
// upgrade passes only to a websocket route (stripUpgrade).
func (p *proxy) rewriteRequest(pr *httputil.ProxyRequest) {
	in, h := pr.In, pr.Out.Header
	peer := realip.Peer(in)
	trusted := realip.Contains(p.trusted, peer)
	stripSpoofable(h, trusted)
	if !p.websocket || !strings.EqualFold(h.Get("Upgrade"), "websocket") {
		h.Del("Upgrade")
		h.Del("Connection")
	}
	h.Del("Http2-Settings") // h2c's, hop-by-hop, and no h2c passes
	proto := "http"
	if in.TLS != nil {
		proto = "https"
	}
	xff, host := peer.String(), in.Host
	realIP := []string{xff}
	if trusted {
		if prior := in.Header.Values("X-Forwarded-For"); len(prior) > 0 {
			xff = strings.Join(prior, ", ") + ", " + xff
		}
		if v := in.Header.Get("X-Forwarded-Proto"); v == "http" || v == "https" {
			proto = v
		}
		if v := in.Header.Get("X-Forwarded-Host"); v != "" {
			host = v
		}
		realIP = []string{clientAddr(in, p.trusted).String()}
	}
	h.Set("X-Forwarded-For", xff)
	h["X-Forwarded-Proto"] = protoValues[proto]
	h.Set("X-Forwarded-Host", host)
	h["X-Real-Ip"] = realIP
}

// protoValues are the X-Forwarded-Proto values, shared by every request
// and never modified.
var protoValues = map[string][]string{"http": {"http"}, "https": {"https"}}

// clientIPHeaders name the client in the dialect of some CDN or proxy.
// bartleby sets none of them, so whatever they hold came from the client;
// an upstream that reads one (many PHP apps try them before REMOTE_ADDR)
// would believe it. Forwarded is dropped too: X-Forwarded-For is the one
// chain bartleby keeps.
var clientIPHeaders = []string{"Forwarded", "X-Client-Ip", "True-Client-Ip", "Cf-Connecting-Ip",
	"Fastly-Client-Ip", "X-Cluster-Client-Ip", "X-Originating-Ip", "X-Remote-Ip", "X-Remote-Addr",
	"X-Proxyuser-Ip", "Client-Ip", "X-Real-Ip"}

// stripSpoofable drops, before the forwarding headers are set:
//   - clientIPHeaders;
//   - every header whose name holds anything but letters, digits and "-":
//     CGI, PHP and WSGI turn both "X-Forwarded-For" and "X_Forwarded_For"
//     into HTTP_X_FORWARDED_FOR, so a name with "_" (or ".") can pose as a
//     header set here (nginx drops them by default for this reason);
//   - from a peer that is not a trusted proxy, every X-Forwarded-* header
//     (Port, Server, Ssl, Scheme…): bartleby sets the ones it knows; and
//     the headers that make some applications act on another URL, host or
//     method (proxycache.OverrideHeaders: X-Original-URL, X-Rewrite-URL,
//     X-HTTP-Method-Override…), which would take a request past the
//     route's rules, matched on the request line.
func stripSpoofable(h http.Header, trusted bool) {
	for _, k := range clientIPHeaders {
		delete(h, k)
	}
	if !trusted {
		for _, k := range proxycache.OverrideHeaders {
			delete(h, k)
		}
	}
	for k := range h {
		if !plainName(k) || !trusted && strings.HasPrefix(k, "X-Forwarded-") {
			delete(h, k)
		}
	}
}

// plainName reports whether a header name is only ASCII letters, digits
// and "-".
func plainName(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i] | 0x20
		if !('a' <= c && c <= 'z' || '0' <= k[i] && k[i] <= '9' || k[i] == '-') {
			return false
		}
	}
	return true
}
