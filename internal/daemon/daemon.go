// Package daemon runs the parts a config turns on: it starts them, reloads
// them on SIGHUP, serves the control socket and stops them gracefully.
package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"bartleby/internal/admin"
	"bartleby/internal/certs"
	"bartleby/internal/config"
	"bartleby/internal/control"
	"bartleby/internal/fleet"
	"bartleby/internal/logring"
	"bartleby/internal/part"
	"bartleby/internal/version"
)

// logsPerPart is how many log records per part the admin UI can show.
const logsPerPart = 200

// DrainTimeout is how long a stop waits for in-flight work.
const DrainTimeout = 30 * time.Second

// running is a started part, when it started and whether it is failing.
type running struct {
	part.Part
	since  time.Time
	reg    *prometheus.Registry
	health *health
}

// health is what a part reported through Env.Fail.
type health struct {
	mu   sync.Mutex
	errs []string
}

func (h *health) fail(err error) {
	h.mu.Lock()
	h.errs = append(h.errs, err.Error())
	h.mu.Unlock()
}

// state is "running", or "failing" with why.
func (h *health) state() (string, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.errs) == 0 {
		return "running", ""
	}
	return "failing", strings.Join(h.errs, "; ")
}

// Daemon is one running bartleby.
type Daemon struct {
	path    string
	log     *slog.Logger
	logs    *logring.Ring // the last records per part, for the admin UI
	started time.Time
	metrics *metrics

	ctl   *control.Server
	pub   *control.Server // the public socket: mailq and sendmail for every user
	fleet *fleet.Fleet    // nil without [fleet]

	// mu serialises start, reload and stop; it is held while parts drain
	// at stop.
	mu sync.Mutex
	// drains counts the parts a reload replaced that are still draining.
	drains sync.WaitGroup
	// state guards the fields below for readers (status, metrics), which
	// must not wait for a reload's drain.
	state    sync.RWMutex
	cfg      *config.Config
	certs    *certs.Manager
	parts    []*running
	reloaded time.Time
	attempt  *control.ReloadResult
}

// Options are the serve flags that override the config.
type Options struct {
	// User overrides the config's user: the account to drop to.
	User string
}

// Run loads the config at path, starts every configured part and serves
// until ctx is done or SIGTERM/SIGINT arrives; SIGHUP reloads.
func Run(ctx context.Context, path string, opts Options, log *slog.Logger) error {
	logs := logring.New(logsPerPart)
	log = slog.New(logs.Handler(log.Handler()))
	cfg, err := Load(path)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		log.Warn("config", "event", "config.warning", "warning", w.String())
	}
	d := &Daemon{path: path, log: log, logs: logs, cfg: cfg, started: time.Now(), metrics: newMetrics()}
	d.metrics.reg.MustRegister(certExpiry{d})
	if err := becomeUser(cfg, opts, log); err != nil {
		return err
	}
	if d.ctl, err = control.Listen(cfg.StateDir, log); err != nil {
		return err
	}
	defer d.ctl.Close()
	if d.pub, err = control.ListenPublic(cfg.StateDir, log); err != nil {
		return err
	}
	defer d.pub.Close()
	for _, s := range []*control.Server{d.ctl, d.pub} {
		go s.Serve(func(err error) {
			log.Error("control socket failing: bartleby commands no longer reach this daemon; restart it", "event", "control.failed", "socket", s.Path(), "error", err)
			d.metrics.markFailing("control")
		})
	}
	if err := d.joinFleet(ctx); err != nil {
		return err
	}
	if d.fleet != nil {
		defer d.fleet.Close()
	}
	if err := d.start(); err != nil {
		return err
	}
	if err := d.register(ctx); err != nil {
		d.stop()
		return err
	}
	log.Info("bartleby started", "event", "daemon.started", "version", version.String(), "config", cfg.File, "state_dir", cfg.StateDir, "pid", os.Getpid())
	notify(sdReady)
	d.wait(ctx)
	notify(sdStopping)
	return d.stop()
}

// wait serves signals until the daemon should stop: SIGHUP reloads,
// SIGUSR1 reopens log files, SIGTERM or SIGINT stop it. Signal handling
// stays on while the parts drain: a second stop signal exits at once, a
// SIGHUP or SIGUSR1 is ignored.
func (d *Daemon) wait(ctx context.Context) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGTERM, syscall.SIGINT)
	for {
		select {
		case <-ctx.Done():
			go d.whileStopping(sigs)
			return
		case s := <-sigs:
			switch s {
			case syscall.SIGHUP:
				d.Reload("SIGHUP")
			case syscall.SIGUSR1:
				d.reopenLogs()
			default:
				d.log.Info("stopping", "event", "daemon.stopping", "signal", s.String(), "drain", DrainTimeout)
				go d.whileStopping(sigs)
				return
			}
		}
	}
}

func (d *Daemon) whileStopping(sigs <-chan os.Signal) {
	for s := range sigs {
		if s != syscall.SIGHUP && s != syscall.SIGUSR1 {
			d.log.Error("second signal, exiting now", "event", "daemon.killed", "signal", s.String())
			os.Exit(1)
		}
		d.log.Warn("stopping: signal ignored", "event", "daemon.signal_ignored", "signal", s.String())
	}
}

// reopenLogs has every part reopen its log files, without a reload.
func (d *Daemon) reopenLogs() {
	_, parts := d.snapshot()
	for _, r := range parts {
		if lr, ok := r.Part.(part.LogReopener); ok {
			if err := lr.ReopenLogs(); err != nil {
				d.log.Error("reopening log files", "event", "daemon.reopen_failed", "part", r.Name(), "err", err)
				continue
			}
			d.log.Info("log files reopened", "event", "daemon.logs_reopened", "part", r.Name())
		}
	}
}

// start builds and starts every part of the current config. On failure the
// parts already started are stopped again.
func (d *Daemon) start() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	cm, err := d.newCerts(d.cfg)
	if err != nil {
		return err
	}
	var started []*running
	for _, b := range builders {
		r, err := d.build(b.name, b.build, d.cfg, cm)
		if err != nil {
			d.stopParts(started)
			return err
		}
		if r != nil {
			started = append(started, r)
		}
	}
	r, err := d.build("admin", d.adminBuilder(d.adminDeps(started)), d.cfg, cm)
	if err != nil {
		d.stopParts(started)
		return err
	}
	if r != nil {
		started = append(started, r)
	}
	d.setState(d.cfg, cm, started)
	d.setHandlers(started)
	return nil
}

func (d *Daemon) setState(cfg *config.Config, cm *certs.Manager, parts []*running) {
	d.state.Lock()
	d.cfg, d.certs, d.parts = cfg, cm, parts
	d.state.Unlock()
}

func (d *Daemon) snapshot() (*config.Config, []*running) {
	d.state.RLock()
	defer d.state.RUnlock()
	return d.cfg, d.parts
}

// build makes one part and starts it.
func (d *Daemon) build(name string, b part.Builder, cfg *config.Config, cm *certs.Manager) (*running, error) {
	reg := prometheus.NewRegistry()
	h := &health{}
	env := d.env(name, reg, cfg, cm)
	env.OnFail = func(err error) {
		h.fail(err)
		d.log.Error("part failing", "event", "daemon.part_failing", "part", name, "error", err)
		d.metrics.markFailing(name)
	}
	p, err := b(env)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if p == nil {
		return nil, nil
	}
	d.metrics.failing.WithLabelValues(name).Set(0) // a restart starts afresh
	if err := p.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w%s", name, err, bindHint(err))
	}
	d.log.Info("part started", "event", "daemon.part_started", "part", name, "addrs", p.Addrs())
	d.metrics.up(name, true)
	return &running{Part: p, since: time.Now(), reg: reg, health: h}, nil
}

func (d *Daemon) env(name string, reg *prometheus.Registry, cfg *config.Config, cm *certs.Manager) *part.Env {
	return &part.Env{Config: cfg, Log: d.log.With("part", name), Certs: cm, Metrics: reg, Fleet: d.fleet}
}

// adminBuilder builds the admin UI with the pages of the parts before it.
func (d *Daemon) adminBuilder(deps admin.Deps) part.Builder {
	return func(env *part.Env) (part.Part, error) { return admin.New(env, deps) }
}

// adminDeps are the pages of the parts before the admin UI and the
// daemon's status, metrics and notices.
func (d *Daemon) adminDeps(parts []*running) admin.Deps {
	var pages []part.AdminPage
	for _, r := range parts {
		if p, ok := r.Part.(part.AdminPager); ok {
			pages = append(pages, p.AdminPages()...)
		}
	}
	return admin.Deps{Pages: pages, Status: d.Status, Metrics: d.gatherer(), Notices: d.notices, Cards: d.cards, Logs: d.logs, Certs: d.certificates}
}

// certificates lists the certificates the running parts serve.
func (d *Daemon) certificates() []certs.Cert {
	d.state.RLock()
	cm := d.certs
	d.state.RUnlock()
	return cm.Certificates()
}

// cards gathers the running parts' health for the admin home page.
func (d *Daemon) cards() []part.Card {
	_, parts := d.snapshot()
	var out []part.Card
	for _, r := range parts {
		if s, ok := r.Part.(part.Summarizer); ok {
			out = append(out, s.Summary()...)
		}
	}
	return out
}

// publicCommands are the commands of the public socket: what an ordinary
// user's mailq and sendmail need, read-only. Postfix lets every local user
// list the queue too.
var publicCommands = []string{"mail.queue", "mail.setaside", "mail.sendmail_settings"}

// setHandlers gives both sockets the commands of parts.
func (d *Daemon) setHandlers(parts []*running) {
	all := d.handlers(parts)
	d.ctl.SetHandlers(all)
	public := map[string]control.Handler{}
	for _, name := range publicCommands {
		if h, ok := all[name]; ok {
			public[name] = h
		}
	}
	d.pub.SetHandlers(public)
}

func (d *Daemon) handlers(parts []*running) map[string]control.Handler {
	h := map[string]control.Handler{
		"status":       func(context.Context, json.RawMessage) (any, error) { return d.Status(), nil },
		"fleet.status": d.fleetStatus,
		"reload": func(ctx context.Context, _ json.RawMessage) (any, error) {
			by := "control socket"
			if p, ok := control.PeerFrom(ctx); ok {
				by = fmt.Sprintf("control socket (uid %d)", p.UID)
			}
			return d.Reload(by), nil
		},
	}
	for _, r := range parts {
		if c, ok := r.Part.(part.Commander); ok {
			for name, f := range c.Commands() {
				h[name] = f
			}
		}
	}
	return h
}

// notices gathers the running parts' warnings for the admin home page.
func (d *Daemon) notices() []part.Notice {
	_, parts := d.snapshot()
	var out []part.Notice
	for _, r := range parts {
		if n, ok := r.Part.(part.Noticer); ok {
			out = append(out, n.Notices()...)
		}
	}
	return out
}

// Status reports what runs where, for `bartleby status` and the admin UI.
func (d *Daemon) Status() control.Status {
	cfg, parts := d.snapshot()
	d.state.RLock()
	reloaded, attempt := d.reloaded, d.attempt
	d.state.RUnlock()
	st := control.Status{Version: version.String(), PID: os.Getpid(), Config: cfg.File,
		Started: d.started, Reload: reloaded, Attempt: attempt, Parts: []control.PartStatus{}}
	for _, r := range parts {
		state, why := r.health.state()
		st.Parts = append(st.Parts, control.PartStatus{Name: r.Name(), Addrs: r.Addrs(), Since: r.since, State: state, Error: why})
	}
	for _, n := range d.notices() {
		st.Notices = append(st.Notices, n.Part+": "+n.Text)
	}
	return st
}

func (d *Daemon) stop() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, parts := d.snapshot()
	err := d.stopParts(parts)
	d.drains.Wait()
	d.state.Lock()
	d.parts = nil
	d.certs.Close()
	d.state.Unlock()
	d.log.Info("bartleby stopped", "event", "daemon.stopped")
	return err
}

// stopParts shuts parts down in reverse start order, sharing one drain
// deadline.
func (d *Daemon) stopParts(parts []*running) error {
	ctx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
	defer cancel()
	var errs []error
	for _, r := range slices.Backward(parts) {
		if err := d.stopPart(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (d *Daemon) stopPart(ctx context.Context, r *running) error {
	err := r.Shutdown(ctx)
	d.metrics.up(r.Name(), false)
	if err != nil {
		return fmt.Errorf("%s: %w", r.Name(), err)
	}
	d.log.Info("part stopped", "event", "daemon.part_stopped", "part", r.Name())
	return nil
}
