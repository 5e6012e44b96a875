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
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"bartleby/internal/admin"
	"bartleby/internal/certs"
	"bartleby/internal/config"
	"bartleby/internal/control"
	"bartleby/internal/part"
	"bartleby/internal/version"
)

// DrainTimeout is how long a stop waits for in-flight work.
const DrainTimeout = 30 * time.Second

// running is a started part and when it started.
type running struct {
	part.Part
	since time.Time
	reg   *prometheus.Registry
}

// Daemon is one running bartleby.
type Daemon struct {
	path    string
	log     *slog.Logger
	started time.Time
	metrics *metrics

	ctl *control.Server

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
}

// Run loads the config at path, starts every configured part and serves
// until ctx is done or SIGTERM/SIGINT arrives; SIGHUP reloads.
func Run(ctx context.Context, path string, log *slog.Logger) error {
	cfg, err := Load(path)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		log.Warn("config", "warning", w.String())
	}
	d := &Daemon{path: path, log: log, cfg: cfg, started: time.Now(), metrics: newMetrics()}
	if err := prepareStateDir(cfg.StateDir, log); err != nil {
		return err
	}
	if d.ctl, err = control.Listen(cfg.StateDir, log); err != nil {
		return err
	}
	go d.ctl.Serve()
	defer d.ctl.Close()
	if err := d.start(); err != nil {
		return err
	}
	log.Info("bartleby started", "version", version.String(), "config", cfg.File, "state_dir", cfg.StateDir, "pid", os.Getpid())
	d.wait(ctx)
	return d.stop()
}

// prepareStateDir creates state_dir 0700, and narrows an existing one that
// others can read: it holds keys, the queue and the control socket.
func prepareStateDir(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state_dir: %w", err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("state_dir: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		log.Warn("state_dir was open to others; setting mode 0700", "dir", dir, "mode", fmt.Sprintf("%04o", st.Mode().Perm()))
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("state_dir: %w", err)
		}
	}
	return nil
}

// wait serves signals until the daemon should stop: SIGHUP reloads,
// SIGTERM or SIGINT stop it. Signal handling stays on while the parts drain:
// a second stop signal exits at once, a SIGHUP is ignored.
func (d *Daemon) wait(ctx context.Context) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	for {
		select {
		case <-ctx.Done():
			go d.whileStopping(sigs)
			return
		case s := <-sigs:
			if s != syscall.SIGHUP {
				d.log.Info("stopping", "signal", s.String(), "drain", DrainTimeout)
				go d.whileStopping(sigs)
				return
			}
			if err := d.Reload(); err != nil {
				d.log.Error("reload", "err", err)
			}
		}
	}
}

func (d *Daemon) whileStopping(sigs <-chan os.Signal) {
	for s := range sigs {
		if s != syscall.SIGHUP {
			d.log.Error("second signal, exiting now", "signal", s.String())
			os.Exit(1)
		}
		d.log.Warn("stopping: SIGHUP ignored")
	}
}

// start builds and starts every part of the current config. On failure the
// parts already started are stopped again.
func (d *Daemon) start() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	cm, err := certs.New(d.cfg, d.log)
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
	d.ctl.SetHandlers(d.handlers(started))
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
	p, err := b(d.env(name, reg, cfg, cm))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if p == nil {
		return nil, nil
	}
	if err := p.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	d.log.Info("part started", "part", name, "addrs", p.Addrs())
	d.metrics.up(name, true)
	return &running{Part: p, since: time.Now(), reg: reg}, nil
}

func (d *Daemon) env(name string, reg *prometheus.Registry, cfg *config.Config, cm *certs.Manager) *part.Env {
	return &part.Env{Config: cfg, Log: d.log.With("part", name), Certs: cm, Metrics: reg}
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
	return admin.Deps{Pages: pages, Status: d.Status, Metrics: d.gatherer(), Notices: d.notices}
}

func (d *Daemon) handlers(parts []*running) map[string]control.Handler {
	h := map[string]control.Handler{
		"status": func(context.Context, json.RawMessage) (any, error) { return d.Status(), nil },
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
	reloaded := d.reloaded
	d.state.RUnlock()
	st := control.Status{Version: version.String(), PID: os.Getpid(), Config: cfg.File,
		Started: d.started, Reload: reloaded, Parts: []control.PartStatus{}}
	for _, r := range parts {
		st.Parts = append(st.Parts, control.PartStatus{Name: r.Name(), Addrs: r.Addrs(), Since: r.since})
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
	d.log.Info("bartleby stopped")
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
	d.log.Info("part stopped", "part", r.Name())
	return nil
}
