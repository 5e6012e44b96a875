// Package watch is the daemon part that runs production behaviour
// scenarios (package scenario) periodically: it spreads and schedules the
// runs, confirms a failure with one retry, exports blackbox_exporter-style
// metrics, keeps a history for the admin page's charts, answers `watch
// status`, checks the clock and may answer NTP (package clock). The command
// line runs scenarios once and prints them through package report.
package watch

import (
	"context"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"net/url"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"bartleby/internal/certs/capool"
	"bartleby/internal/config"
	"bartleby/internal/fleet"
	"bartleby/internal/part"
	"bartleby/internal/version"
	"bartleby/internal/watch/clock"
	"bartleby/internal/watch/scenario"
)

// concurrentRuns bounds the scenarios running at once, and so memory.
const concurrentRuns = 4

// Watch is the daemon part.
type Watch struct {
	cfg     *config.Watch
	log     *slog.Logger
	feats   []*scenario.Feature
	opt     scenario.Options
	metrics *metrics
	hist    *history
	ntp     *clock.Server
	addrs   []string
	// fleet, when set, gets the outcomes (publishLoop), signalled
	// through publish.
	fleet   *fleet.Fleet
	publish chan struct{}

	// spread is the window the first runs are spread over (every, by
	// default) so that scenarios do not all hit the site at once.
	spread time.Duration
	sem    chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	last     map[string]*scenario.Result // by scenario ID, the last confirmed run
	clockR   *clock.Result
	ca       *x509.CertPool
	caLoaded time.Time
}

// New builds the watch part, or returns nil when [watch] is absent.
func New(env *part.Env) (part.Part, error) {
	wc := env.Config.Watch
	if wc == nil {
		return nil, nil
	}
	w := &Watch{cfg: wc, log: env.Log, sem: make(chan struct{}, concurrentRuns), last: map[string]*scenario.Result{},
		fleet: env.Fleet, publish: make(chan struct{}, 1),
		opt: scenario.Options{Timeout: wc.Timeout.Duration, UserAgent: "bartleby-watch/" + version.String()}}
	if wc.Base != "" {
		u, err := url.Parse(wc.Base)
		if err != nil {
			return nil, fmt.Errorf("watch.base: %w", err)
		}
		w.opt.Base = u
	}
	if wc.Features != "" {
		feats, err := scenario.Load(wc.Features)
		if err != nil {
			return nil, fmt.Errorf("watch.features: %w", err)
		}
		w.feats = feats
	}
	m, err := newMetrics(env.Metrics)
	if err != nil {
		return nil, err
	}
	w.metrics = m
	if err := env.Metrics.Register(clockMetrics{w}); err != nil {
		return nil, fmt.Errorf("clock metrics: %w", err)
	}
	w.spread = wc.Every.Duration
	h, err := loadHistory(filepath.Join(env.Config.StateDir, "watch", "history.json"), wc.History)
	if err != nil {
		env.Log.Warn("watch history", "event", "watch.history_error", "err", err)
	}
	keep := map[string]bool{}
	for _, sc := range w.scenarios() {
		keep[sc.ID()] = true
	}
	h.prune(keep)
	w.hist = h
	if n := wc.NTPServer; n != nil {
		w.ntp = clock.NewServer(clock.ServerOptions{Rate: n.Rate, Burst: n.Burst, Clients: n.Clients, Leak: n.Leak,
			Upstream: w.upstream, Log: env.Log, Died: env.Fail})
		w.registerNTP(env.Metrics)
	}
	return w, nil
}

func (w *Watch) registerNTP(reg prometheus.Registerer) {
	for result, c := range map[string]func() uint64{
		"answered": w.ntp.Answered.Load, "refused": w.ntp.Refused.Load, "kod": w.ntp.KoD.Load, "ignored": w.ntp.Ignored.Load,
	} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "bartleby_ntp_requests_total",
			Help:        "NTP datagrams by outcome: answered, refused (rate limit), kod (RATE kiss-of-death sent), ignored (not a client query).",
			ConstLabels: prometheus.Labels{"result": result}}, func() float64 { return float64(c()) }))
	}
}

// Name is the part's name.
func (w *Watch) Name() string { return "watch" }

// Addrs lists the NTP listeners.
func (w *Watch) Addrs() []string { return w.addrs }

func (w *Watch) scenarios() []*scenario.Scenario {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*scenario.Scenario
	for _, f := range w.feats {
		out = append(out, f.Scenarios...)
	}
	return out
}

// Start binds the NTP listeners and starts the schedules.
func (w *Watch) Start() error {
	if w.ntp != nil {
		for _, a := range w.cfg.NTPServer.Listen {
			addr, err := w.ntp.Listen(a)
			if err != nil {
				w.ntp.Close()
				return fmt.Errorf("watch.ntp_server: listen %s: %w", a, err)
			}
			w.addrs = append(w.addrs, "udp/"+addr.String())
		}
	}
	w.startLoops()
	return nil
}

// startLoops starts the scenario schedules, the clock check and the
// history saver.
func (w *Watch) startLoops() {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	scs := w.scenarios()
	for i, sc := range scs {
		first := w.spread * time.Duration(i) / time.Duration(len(scs))
		w.wg.Go(func() { w.schedule(ctx, sc, first) })
	}
	if w.cfg.Clock != nil {
		w.wg.Go(func() { w.clockLoop(ctx) })
	}
	w.wg.Go(func() { w.saveLoop(ctx) })
	if w.fleet != nil {
		w.wg.Go(func() { w.publishLoop(ctx) })
		w.signalPublish() // the scenarios may have changed
	}
}

// stopLoops stops them and waits, at most until ctx is done.
func (w *Watch) stopLoops(ctx context.Context) {
	if w.cancel != nil {
		w.cancel()
	}
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Shutdown stops the schedules (runs in flight are cancelled), the NTP
// listeners, and saves the history.
func (w *Watch) Shutdown(ctx context.Context) error {
	if w.ntp != nil {
		w.ntp.Close()
	}
	w.stopLoops(ctx)
	return w.hist.save()
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// schedule runs one scenario every `every` ± jitter. A failure is retried
// once after `retry`; only a second failure counts, so a blip does not page.
func (w *Watch) schedule(ctx context.Context, sc *scenario.Scenario, first time.Duration) {
	every := w.cfg.Every.Duration
	jitter := w.cfg.Jitter.Duration
	next := first
	for sleep(ctx, next) {
		r := w.run(ctx, sc)
		flap := false
		if !r.OK && ctx.Err() == nil {
			w.log.Info("watch: scenario failed, retrying to confirm", "event", "watch.retry", "scenario", sc.ID(), "err", r.Failed().Error)
			if !sleep(ctx, w.cfg.Retry.Duration) {
				return
			}
			r, flap = w.run(ctx, sc), true
		}
		if ctx.Err() != nil {
			return
		}
		w.record(sc, r, flap && r.OK)
		next = every
		if jitter > 0 {
			next += time.Duration(rand.Int64N(int64(2*jitter))) - jitter
		}
	}
}

func (w *Watch) run(ctx context.Context, sc *scenario.Scenario) *scenario.Result {
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		return &scenario.Result{Scenario: sc.Name}
	}
	defer func() { <-w.sem }()
	opt := w.opt
	opt.RootCAs = w.roots()
	return scenario.Run(ctx, sc, opt)
}

// roots loads watch.ca, again at most once a minute: the file may appear
// or be renewed while the daemon runs. Until it loads, the system's roots
// are used and HTTPS steps to a private site fail saying why.
func (w *Watch) roots() *x509.CertPool {
	if w.cfg.CA == "" {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if time.Since(w.caLoaded) < time.Minute {
		return w.ca
	}
	w.caLoaded = time.Now()
	pool, err := capool.Load(w.cfg.CA)
	if err != nil {
		w.log.Warn("watch.ca", "event", "watch.ca_error", "err", err)
		return w.ca
	}
	w.ca = pool
	return pool
}

func (w *Watch) record(sc *scenario.Scenario, r *scenario.Result, flap bool) {
	if f := r.Failed(); f != nil {
		w.log.Warn("watch: scenario failed", "event", "watch.failed", "scenario", sc.ID(), "line", f.Line, "step", f.Text, "err", f.Error)
	}
	w.metrics.observe(sc, r, flap)
	w.hist.add(sc, r, flap)
	w.mu.Lock()
	w.last[sc.ID()] = r
	w.mu.Unlock()
	w.signalPublish()
}

// saveLoop writes the history once a minute when it changed.
func (w *Watch) saveLoop(ctx context.Context) {
	for sleep(ctx, time.Minute) {
		if err := w.hist.save(); err != nil {
			w.log.Warn("watch: saving history", "event", "watch.history_error", "err", err)
		}
	}
}

// clockLoop checks the clock now and every clock.every.
func (w *Watch) clockLoop(ctx context.Context) {
	c := w.cfg.Clock
	for {
		r := clock.Check(ctx, c.Servers, clock.Options{Warn: c.Warn.Duration, Crit: c.Crit.Duration})
		if ctx.Err() != nil {
			return
		}
		if r.Status != clock.OK {
			w.log.Warn("clock check", "event", "clock.check", "status", r.Status.String(), "summary", r.Line())
		}
		w.mu.Lock()
		w.clockR = &r
		w.mu.Unlock()
		if !sleep(ctx, c.Every.Duration) {
			return
		}
	}
}

// Clock returns the last clock check, or nil.
func (w *Watch) Clock() *clock.Result {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.clockR
}

// Notices puts a clock that is off, or cannot be checked, on the admin home
// page: the seed's author found a 20-minute skew only by accident.
func (w *Watch) Notices() []part.Notice {
	r := w.Clock()
	if r == nil || r.Status == clock.OK {
		return nil
	}
	return []part.Notice{{Part: "watch", Text: r.Line()}}
}

// upstream tells the NTP responder what to claim: the kernel's
// synchronisation status, unless our own check found the clock off by more
// than crit; the stratum of the best server the check saw.
func (w *Watch) upstream() clock.Upstream {
	synced, maxErr := clock.KernelSynced()
	w.mu.Lock()
	up := clock.Upstream{Synced: synced, Stratum: w.cfg.NTPServer.Stratum, MaxErr: maxErr}
	r := w.clockR
	w.mu.Unlock()
	if r != nil && r.Stratum > 0 {
		up.Stratum = r.Stratum
		if r.Status == clock.Critical {
			up.Synced = false
		}
		for _, a := range r.Answers {
			if ip := serverIP(a.Server); ip.Is4() && a.Err == "" && a.Stratum == r.Stratum {
				b := ip.As4()
				up.RefID = binary.BigEndian.Uint32(b[:])
				break
			}
		}
	}
	return up
}

// serverIP is a server's address when given as an IP ("192.0.2.1" or
// "192.0.2.1:123"), for the reference ID of our NTP answers.
func serverIP(s string) netip.Addr {
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip
	}
	ap, _ := netip.ParseAddrPort(s)
	return ap.Addr()
}
