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
type wrapper func(sc *config.Site, next http.Handler, backendDown func() bool) http.Handler

func buildTable(cfg *config.Config, cm *certs.Manager, wrap wrapper, m *metrics, log *slog.Logger) (*table, error) {
	t := &table{exact: map[string]*site{}, wild: map[string]*site{}, trusted: cfg.Trusted, metrics: m}
	if _, port, err := net.SplitHostPort(cfg.Web.HTTPS); err == nil && port != "443" {
		t.httpsURL = ":" + port
	}
	var sources []certs.Source
	for _, sc := range cfg.Sites {
		s, err := t.buildSite(sc, wrap, log)
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

func (t *table) buildSite(sc *config.Site, wrap wrapper, log *slog.Logger) (*site, error) {
	s := &site{name: sc.Name(), https: sc.HTTPS != "off", hsts: sc.HSTS(), metrics: t.metrics.forSite(sc.Name())}
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
		h, err := t.action(s, rc, log)
		if err != nil {
			return nil, fmt.Errorf("route %d: %w", i+1, err)
		}
		rs = append(rs, &route{matcher: newMatcher(rc), strip: rc.StripPrefix, h: h})
	}
	s.h = rs
	if wrap != nil {
		s.h = wrap(sc, rs, s.backendDown)
	}
	return s, nil
}

// action builds what a route does.
func (t *table) action(s *site, rc *config.Route, log *slog.Logger) (http.Handler, error) {
	switch {
	case rc.Root != "":
		st, err := newStatic(rc)
		if err != nil {
			return nil, err
		}
		t.closers = append(t.closers, st)
		return st, nil
	case len(rc.Upstreams) > 0:
		p, err := newProxy(s.name, rc, t.trusted, log)
		if err != nil {
			return nil, err
		}
		t.closers = append(t.closers, p)
		s.proxies = append(s.proxies, p)
		return p, nil
	case rc.Redirect != "":
		return redirect{target: rc.Redirect, code: rc.Code}, nil
	}
	return respond{body: rc.Respond, status: rc.Status}, nil
}

// Close releases the table's files and connections.
func (t *table) Close() error {
	var errs []error
	for _, c := range t.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// lookup finds the site of a host: an exact name, then a wildcard one
// label deep, as certificates match.
func (t *table) lookup(host string) *site {
	if s, ok := t.exact[host]; ok {
		return s
	}
	if _, parent, ok := strings.Cut(host, "."); ok {
		return t.wild[parent]
	}
	return nil
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
