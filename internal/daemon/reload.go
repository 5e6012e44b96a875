package daemon

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"bartleby/internal/admin"
	"bartleby/internal/certs"
	"bartleby/internal/config"
	"bartleby/internal/part"
)

// Reload re-reads the config. An invalid file is refused whole and the
// running config stays. A valid one is applied part by part: Reloaders take
// it in place; other parts are restarted when their section changed (the
// old one draining in the background), and a part whose restart fails
// goes back to its old config so that a reload never leaves a service off.
// The admin UI comes last, with the pages of the parts now running.
func (d *Daemon) Reload() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	oldCfg, oldParts := d.snapshot()
	cfg, err := Load(d.path)
	if err != nil {
		return fmt.Errorf("reload refused, the running config stays:\n%w", err)
	}
	if cfg.StateDir != oldCfg.StateDir {
		return fmt.Errorf("reload refused, the running config stays: state_dir changed from %s to %s: restart bartleby to move its state", oldCfg.StateDir, cfg.StateDir)
	}
	for _, w := range cfg.Warnings {
		d.log.Warn("config", "warning", w.String())
	}
	cm, err := certs.New(cfg, d.log)
	if err != nil {
		return fmt.Errorf("reload refused, the running config stays: %w", err)
	}
	d.state.RLock()
	oldCerts := d.certs
	d.state.RUnlock()
	byName := map[string]*running{}
	for _, r := range oldParts {
		byName[r.Name()] = r
	}

	var next []*running
	var errs []error
	for _, b := range builders {
		r, err := d.reloadPart(byName[b.name], b.name, b.build, [2]*config.Config{oldCfg, cfg}, [2]*certs.Manager{oldCerts, cm})
		errs = append(errs, err)
		if r != nil {
			next = append(next, r)
		}
	}
	r, err := d.reloadAdmin(byName["admin"], next, [2]*config.Config{oldCfg, cfg}, [2]*certs.Manager{oldCerts, cm})
	errs = append(errs, err)
	if r != nil {
		next = append(next, r)
	}
	d.setState(cfg, cm, next)
	d.state.Lock()
	d.reloaded = time.Now()
	d.state.Unlock()
	d.ctl.SetHandlers(d.handlers(next))
	if err := errors.Join(errs...); err != nil {
		// A part may have fallen back on the old certificates: keep them.
		return fmt.Errorf("reload applied but for:\n%w", err)
	}
	oldCerts.Close()
	d.log.Info("config reloaded", "config", cfg.File)
	return nil
}

// reloadPart applies the new config (cfgs[1], certs[1]) to one part and
// returns what runs afterwards (nil when the part is off). cfgs[0] and
// certs[0] are the old ones, to fall back on.
func (d *Daemon) reloadPart(old *running, name string, build part.Builder, cfgs [2]*config.Config, cms [2]*certs.Manager) (*running, error) {
	if rl, ok := partOf(old).(part.Reloader); ok {
		if err := rl.Reload(d.env(name, old.reg, cfgs[1], cms[1])); err != nil {
			return old, fmt.Errorf("%s: reload: %w (the old config stays)", name, err)
		}
		return old, nil
	}
	if old == nil {
		return d.build(name, build, cfgs[1], cms[1])
	}
	if sameSection(name, cfgs) {
		return old, nil
	}
	stopped := d.drain(old)
	r, err := d.build(name, build, cfgs[1], cms[1])
	if err == nil {
		return r, nil
	}
	// The new part may need the old one's addresses: try again once it
	// is gone.
	<-stopped
	if r, err = d.build(name, build, cfgs[1], cms[1]); err == nil {
		return r, nil
	}
	back, berr := d.build(name, build, cfgs[0], cms[0])
	if berr != nil {
		return nil, fmt.Errorf("%w; restarting it with the old config failed too: %v", err, berr)
	}
	return back, fmt.Errorf("%w (kept the old config)", err)
}

// drain shuts a replaced part down in the background, so that its
// sessions do not hold up the reload of the others; the channel is closed
// once it is down.
func (d *Daemon) drain(r *running) <-chan struct{} {
	done := make(chan struct{})
	d.drains.Add(1)
	go func() {
		defer d.drains.Done()
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			d.log.Warn("replaced part did not drain in time", "part", r.Name(), "err", err)
			return
		}
		d.log.Info("replaced part drained", "part", r.Name())
	}()
	return done
}

// sameSection reports whether a part's config section and the host name
// are the same in both configs: a part that cannot reload in place is not
// touched then.
func sameSection(name string, cfgs [2]*config.Config) bool {
	section := func(c *config.Config) any {
		switch name {
		case "web":
			return c.Web
		case "mail":
			return c.Mail
		case "ssh":
			return c.SSH
		case "watch":
			return c.Watch
		case "admin":
			return c.Admin
		}
		return c // unknown part: any change counts
	}
	return cfgs[0].Hostname == cfgs[1].Hostname && reflect.DeepEqual(section(cfgs[0]), section(cfgs[1]))
}

// reloadAdmin hands the admin UI the new config and the pages of the parts
// running now. It takes them in place, keeping its logins, unless
// admin.listen changed or the in-place reload failed: then it is restarted
// like any other part (or stopped, when [admin] is gone).
func (d *Daemon) reloadAdmin(old *running, parts []*running, cfgs [2]*config.Config, cms [2]*certs.Manager) (*running, error) {
	deps := d.adminDeps(parts)
	if a, ok := partOf(old).(*admin.Server); ok && cfgs[1].Admin != nil {
		err := a.Reload(d.env("admin", old.reg, cfgs[1], cms[1]), deps)
		if err == nil {
			return old, nil
		}
		d.log.Info("admin UI restarts, its logins are lost", "reason", err.Error())
	}
	return d.reloadPart(old, "admin", d.adminBuilder(deps), cfgs, cms)
}

func partOf(r *running) part.Part {
	if r == nil {
		return nil
	}
	return r.Part
}
