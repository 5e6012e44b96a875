package web

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"bartleby/internal/certs"
	"bartleby/internal/config"
	"bartleby/internal/realip"
	"bartleby/internal/web/proxycache"
)

// site is one [[site]] ready to serve.
type site struct {
	name    string
	https   bool   // https = "always": plain HTTP redirects
	hsts    string // Strict-Transport-Security value, "" for none
	h       http.Handler
	log     *accessLog
	proxies []*proxy
	metrics siteMetrics
	routes  router
	caches  []*proxycache.Cache
	// upstreams are shared by the routes that proxy to one URL, so that a
	// backend found failing by one route is down for all of them.
	upstreams map[string]*upstream
}

// backendDown reports whether the site proxies and every upstream of every
// proxy route is failing.
func (s *site) backendDown() bool {
	for _, p := range s.proxies {
		if !p.down() {
			return false
		}
	}
	return len(s.proxies) > 0
}

// backendDownFor reports whether the backend is down for r: it is down
// and r's route has no cached answer (fresh, or stale within
// stale_if_error) to give instead.
func (s *site) backendDownFor(r *http.Request) bool {
	if !s.backendDown() {
		return false
	}
	rt := s.routes.match(r.URL.Path) // made clean by cleanPaths, outside maintenance
	if rt == nil || rt.cache == nil {
		return true
	}
	r = rt.request(r)
	return r == nil || !rt.cache.Usable(r)
}

// table is every site of one config, looked up by host. A reload builds a
// new table and swaps it in whole.
type table struct {
	exact    map[string]*site
	wild     map[string]*site // "example.org" for "*.example.org"
	tls      *tls.Config
	http     http.Handler // the plain HTTP front, ACME challenges first
	trusted  []netip.Prefix
	httpsURL string // ":8443" or "" for 443, appended to redirect hosts
	metrics  *metrics
	closers  []io.Closer
}

// wrapper lets the maintenance manager wrap each site's routes.
type wrapper func(sc *config.Site, next http.Handler, backendDown func(*http.Request) bool) http.Handler

func buildTable(cfg *config.Config, cm *certs.Manager, wrap wrapper, m *metrics, log *slog.Logger) (*table, error) {
	t := &table{exact: map[string]*site{}, wild: map[string]*site{}, trusted: config.Prefixes(cfg.TrustedProxies), metrics: m}
	if _, port, err := net.SplitHostPort(cfg.Web.HTTPS); err == nil && port != "443" {
		t.httpsURL = ":" + port
	}
	var sources []certs.Source
	c := cfg.Checker()
	for i, sc := range cfg.Sites {
		s, err := t.buildSite(c, fmt.Sprintf("site[%d]", i+1), sc, wrap, log)
		if err == nil {
			err = c.Err()
		}
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("site %s: %w", sc.Name(), err)
		}
		for _, h := range sc.Hosts {
			if w, ok := strings.CutPrefix(h, "*."); ok {
				t.wild[w] = s
			} else {
				t.exact[h] = s
			}
		}
		if s.https {
			sources = append(sources, certs.Source{Names: sc.Hosts, CertFile: sc.Cert, KeyFile: sc.Key,
				ACME: cfg.ACME != nil && sc.Cert == "", Email: sc.ACMEEmail})
		}
	}
	if len(sources) > 0 {
		tc, err := cm.TLSConfig(sources...)
		if err != nil {
			t.Close()
			return nil, err
		}
		t.tls = tc
	}
	t.http = cm.HTTPChallenge(http.HandlerFunc(t.serveHTTP))
	return t, nil
}

func (t *table) buildSite(c *config.Checker, key string, sc *config.Site, wrap wrapper, log *slog.Logger) (*site, error) {
	s := &site{name: sc.Name(), https: sc.HTTPS != "off", hsts: hsts(sc), metrics: t.metrics.forSite(sc.Name())}
	al, err := openAccessLog(sc.AccessLog, sc.AccessLogFmt)
	if err != nil {
		return nil, err
	}
	if al != nil {
		s.log = al
		t.closers = append(t.closers, al)
	}
	var rs router
	for i, rc := range sc.Routes {
		spec := compileRoute(c, fmt.Sprintf("%s.route[%d]", key, i+1), rc)
		h, p, err := t.action(s, rc, spec, log)
		if err != nil {
			return nil, fmt.Errorf("route %d: %w", i+1, err)
		}
		rt := &route{matcher: newMatcher(rc, spec.re), strip: rc.StripPrefix}
		rt.h, rt.cache = t.wrapRoute(s, rc, spec, h, p)
		rs = append(rs, rt)
	}
	s.h, s.routes = rs, rs
	if wrap != nil {
		s.h = wrap(sc, rs, s.backendDownFor)
	}
	s.h = cleanPaths(s.h)
	return s, nil
}

// action builds what a route does; p is its proxy, if it has one.
func (t *table) action(s *site, rc *config.Route, spec routeSpec, log *slog.Logger) (h http.Handler, p *proxy, err error) {
	switch {
	case rc.Root != "":
		st, err := newStatic(rc)
		if err != nil {
			return nil, nil, err
		}
		t.closers = append(t.closers, st)
		return st, nil, nil
	case len(spec.upstreams) > 0:
		p, err := newProxy(s.name, rc, spec.upstreams, t.trusted, log)
		if err != nil {
			return nil, nil, err
		}
		t.closers = append(t.closers, p)
		s.proxies = append(s.proxies, p)
		s.shareUpstreams(p)
		return p, p, nil
	case rc.Redirect != "":
		return redirect{target: rc.Redirect, code: rc.Code}, nil, nil
	}
	return respond{body: rc.Respond, status: rc.Status}, nil, nil
}

// shareUpstreams makes p use the site's upstream of each URL it has.
func (s *site) shareUpstreams(p *proxy) {
	if s.upstreams == nil {
		s.upstreams = map[string]*upstream{}
	}
	for i, u := range p.ups {
		if shared, ok := s.upstreams[u.url.String()]; ok {
			p.ups[i] = shared
		} else {
			s.upstreams[u.url.String()] = u
		}
	}
}

// Close releases the table's files and connections.
// reopenLogs reopens every site's access log file.
func (t *table) reopenLogs() error {
	seen := map[*site]bool{}
	var errs []error
	for _, m := range []map[string]*site{t.exact, t.wild} {
		for _, s := range m {
			if !seen[s] {
				seen[s] = true
				errs = append(errs, s.log.reopen())
			}
		}
	}
	return errors.Join(errs...)
}

func (t *table) Close() error {
	var errs []error
	for _, c := range t.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// lookup finds the site of a host: an exact name, then a wildcard one
// label deep, as certificates match. The label a wildcard takes must be a
// DNS label: Go's server lets "%", "'", "!", "$", "(", "*", "," and "="
// through in Host, and such a name would reach the HTTPS redirect, the
// upstream's Host and the cache key.
func (t *table) lookup(host string) *site {
	if s, ok := t.exact[host]; ok {
		return s
	}
	if label, parent, ok := strings.Cut(host, "."); ok && dnsLabel(label) {
		return t.wild[parent]
	}
	return nil
}

// dnsLabel reports whether l is a host name label: 1 to 63 letters,
// digits, "-" or "_" (seen in real names, though not in RFC 1123).
func dnsLabel(l string) bool {
	if l == "" || len(l) > 63 {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i] | 0x20
		if !('a' <= c && c <= 'z' || '0' <= l[i] && l[i] <= '9' || l[i] == '-' || l[i] == '_') {
			return false
		}
	}
	return true
}

// hostOf is the request's host without port, lower case, no final dot.
func hostOf(hostport string) string {
	h := hostport
	// Without a colon SplitHostPort fails anyway, after allocating its
	// error: skip it for the common "Host: example.org".
	if strings.IndexByte(hostport, ':') >= 0 {
		if host, _, err := net.SplitHostPort(hostport); err == nil {
			h = host
		}
	}
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// serveHTTPS answers on the TLS listener. A host that is not an HTTPS site
// of this table, or that differs from the name the TLS connection was made
// for, is 421: a client must never see another site's content.
func (t *table) serveHTTPS(w http.ResponseWriter, r *http.Request) {
	s := t.lookup(hostOf(r.Host))
	if s == nil || !s.https || (r.TLS != nil && r.TLS.ServerName != "" && t.lookup(hostOf(r.TLS.ServerName)) != s) {
		http.Error(w, "421 misdirected request: no site for this host here", http.StatusMisdirectedRequest)
		return
	}
	if s.hsts != "" {
		w.Header().Set("Strict-Transport-Security", s.hsts)
	}
	t.serve(s, s.h, w, r)
}

// serveHTTP answers on the plain listener: HTTPS sites redirect with 308
// (method and body kept), https = "off" sites are served.
func (t *table) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s := t.lookup(hostOf(r.Host))
	if s == nil {
		http.Error(w, "404 not found: no site for this host", http.StatusNotFound)
		return
	}
	if !s.https {
		t.serve(s, s.h, w, r)
		return
	}
	t.serve(s, http.HandlerFunc(t.toHTTPS), w, r)
}

// toHTTPS redirects to the same URL over HTTPS.
func (t *table) toHTTPS(w http.ResponseWriter, r *http.Request) {
	uri := r.URL.RequestURI()
	if !strings.HasPrefix(uri, "/") {
		http.Error(w, "400 bad request", http.StatusBadRequest)
		return
	}
	w.Header().Set("Location", "https://"+hostOf(r.Host)+t.httpsURL+uri)
	w.WriteHeader(http.StatusPermanentRedirect)
}

// serve runs h for site s, counting and logging the request.
func (t *table) serve(s *site, h http.Handler, w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	if s.log != nil && s.log.json {
		r = withUpstreamNote(r, &rec.upstream)
	}
	h.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if c := rec.status / 100; c >= 1 && c <= 5 {
		s.metrics.counts[c].Inc()
		s.metrics.durations[c].Observe(time.Since(start).Seconds())
	}
	if s.log != nil {
		s.log.log(r, s.name, clientAddr(r, t.trusted).String(), rec, start)
	}
}

// clientAddr is the client for the access log and X-Real-IP: the peer, or
// the client named by a trusted proxy (realip.From); the peer when a
// trusted proxy's chain cannot be read.
func clientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	if ip, ok := realip.From(r, trusted); ok {
		return ip
	}
	return realip.Peer(r)
}
