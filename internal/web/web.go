// Package web is the web front: sites chosen by Host, routes to static
// files, reverse proxies, redirects and fixed answers, HTTPS everywhere with
// HSTS and ACME, and access logs. A reload swaps the whole site table at
// once, so requests in flight finish on the old one and none is refused.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"bartleby/internal/accept"
	"bartleby/internal/part"
	"bartleby/internal/web/maint"
)

// Server limits, the same for every site.
const (
	readHeaderTimeout = 10 * time.Second // slowloris
	bodyIdleTimeout   = time.Minute      // slowloris on the body (nginx's client_body_timeout)
	writeIdleTimeout  = time.Minute      // slow reading of the response (nginx's send_timeout)
	idleTimeout       = 2 * time.Minute
	// h2WriteTimeout ends an HTTP/2 connection that takes no byte for this
	// long (a client that stopped reading); h2PingAfter is when a silent
	// one is pinged, and closed if the ping is not answered.
	h2WriteTimeout = time.Minute
	h2PingAfter    = time.Minute
	maxHeaderBytes = 64 << 10 // larger gets 431
	// retireAfter is how long a replaced table stays open for the requests
	// that started on it.
	retireAfter = time.Minute
)

// Web is the web part.
type Web struct {
	log       *slog.Logger
	httpAddr  string
	httpsAddr string
	metrics   *metrics
	maint     *maint.Manager
	// headerTimeout, bodyTimeout and sendTimeout are readHeaderTimeout,
	// bodyIdleTimeout and writeIdleTimeout; a test shortens them.
	headerTimeout, bodyTimeout, sendTimeout time.Duration
	fail                                    func(error) // a listener stopped for good

	table atomic.Pointer[table]

	mu      sync.Mutex
	servers []*http.Server
	addrs   []string
	started time.Time
	samples []sample // request counters looked at by Summary, oldest first
}

// New builds the web part, or returns nil when no site is configured.
func New(env *part.Env) (part.Part, error) {
	cfg := env.Config
	if len(cfg.Sites) == 0 {
		return nil, nil
	}
	w := &Web{started: time.Now(), log: env.Log, fail: env.Fail, httpAddr: cfg.Web.HTTP, httpsAddr: cfg.Web.HTTPS, headerTimeout: readHeaderTimeout, bodyTimeout: bodyIdleTimeout, sendTimeout: writeIdleTimeout}
	var err error
	if w.metrics, err = newMetrics(env.Metrics); err != nil {
		return nil, err
	}
	m, err := maint.NewManager(cfg, env.Log)
	if err != nil {
		return nil, err
	}
	w.maint = m
	t, err := buildTable(cfg, env.Certs, m.Handler, w.metrics, env.Log)
	if err != nil {
		return nil, err
	}
	w.table.Store(t)
	if env.Fleet != nil {
		m.Share(env.Fleet)
	}
	return w, nil
}

// Name is "web".
func (w *Web) Name() string { return "web" }

// Addrs lists the bound listeners.
func (w *Web) Addrs() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.addrs...)
}

// Start binds the HTTP and HTTPS listeners and serves in the background.
func (w *Web) Start() error {
	httpLn, err := net.Listen("tcp", w.httpAddr)
	if err != nil {
		return fmt.Errorf("http listener %s: %w", w.httpAddr, err)
	}
	httpsLn, err := net.Listen("tcp", w.httpsAddr)
	if err != nil {
		httpLn.Close()
		return fmt.Errorf("https listener %s: %w", w.httpsAddr, err)
	}
	plain := w.server(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.table.Load().http.ServeHTTP(rw, r)
	}))
	secure := w.server(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.table.Load().serveHTTPS(rw, r)
	}))
	// The TLS config is looked up per connection so that a reload's new
	// certificates apply to the next handshake.
	secure.TLSConfig = &tls.Config{
		NextProtos: []string{"h2", "http/1.1"},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			if tc := w.table.Load().tls; tc != nil {
				return tc, nil
			}
			return nil, errors.New("no HTTPS site")
		},
	}
	w.mu.Lock()
	w.servers = []*http.Server{plain, secure}
	w.addrs = []string{"http://" + httpLn.Addr().String(), "https://" + httpsLn.Addr().String()}
	w.mu.Unlock()
	// A failure is reported by accept.Retry.
	go plain.Serve(sendIdle(accept.Retry(httpLn, w.log, w.fail), w.sendTimeout))
	go secure.ServeTLS(sendIdle(accept.Retry(httpsLn, w.log, w.fail), w.sendTimeout), "", "")
	w.log.Info("web listening", "event", "web.listening", "http", httpLn.Addr().String(), "https", httpsLn.Addr().String())
	return nil
}

func (w *Web) server(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           guardFraming(bodyDeadline(streamWriteDeadline(h, w.sendTimeout), w.bodyTimeout)),
		ReadHeaderTimeout: w.headerTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		HTTP2:             &http.HTTP2Config{WriteByteTimeout: h2WriteTimeout, SendPingTimeout: h2PingAfter, PingTimeout: 15 * time.Second},
		// Handshake failures and bad requests from the internet are
		// noise at the default level.
		ErrorLog: slog.NewLogLogger(w.log.With("event", "web.http_error").Handler(), slog.LevelDebug),
	}
}

// Shutdown stops accepting and waits for requests in flight until ctx ends.
func (w *Web) Shutdown(ctx context.Context) error {
	w.mu.Lock()
	servers := w.servers
	w.mu.Unlock()
	var errs []error
	for _, srv := range servers {
		errs = append(errs, srv.Shutdown(ctx))
	}
	errs = append(errs, w.table.Load().Close())
	w.maint.Unshare()
	return errors.Join(errs...)
}

// Reload swaps in the sites of a new config. Listener addresses cannot
// change without a restart.
func (w *Web) Reload(env *part.Env) error {
	cfg := env.Config
	if cfg.Web == nil || cfg.Web.HTTP != w.httpAddr || cfg.Web.HTTPS != w.httpsAddr {
		return fmt.Errorf("the web listeners changed (or every site was removed): restart bartleby to apply it")
	}
	t, err := buildTable(cfg, env.Certs, w.maint.Handler, w.metrics, env.Log)
	if err != nil {
		return err
	}
	if err := w.maint.Reload(cfg); err != nil {
		t.Close()
		return err
	}
	old := w.table.Swap(t)
	time.AfterFunc(retireAfter, func() { old.Close() })
	env.Log.Info("sites reloaded", "event", "web.reload", "sites", len(cfg.Sites))
	return nil
}

// ReopenLogs reopens the access log files (SIGUSR1, after logrotate).
func (w *Web) ReopenLogs() error { return w.table.Load().reopenLogs() }
