package daemon

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"bartleby/internal/admin"
	"bartleby/internal/certs"
	"bartleby/internal/config"
	"bartleby/internal/control"
	"bartleby/internal/part"
)

// Reload re-reads the config. An invalid file is refused whole and the
// running config stays. A valid one is applied part by part: Reloaders take
// it in place; other parts are restarted when their section changed (the
// old one draining in the background), and a part whose restart fails
// goes back to its old config so that a reload never leaves a service off.
// The admin UI comes last, with the pages of the parts now running. by says
// who asked, for the record kept in status.
func (d *Daemon) Reload(by string) control.ReloadResult {
	d.mu.Lock()
	defer d.mu.Unlock()
	notify(sdReloading)
	defer notify(sdReady)
	res := d.reload()
	res.At, res.By = time.Now(), by
	if !res.Unchanged {
		// The parts or their addresses may have changed: the fleet's
		// record of this node follows (written only when it changed).
		if err := d.register(context.Background()); err != nil {
			d.log.Warn("fleet: updating this node's record after the reload", "event", "fleet.register_failed", "err", err)
		}
	}
	d.state.Lock()
	d.attempt = &res
	if res.OK {
		d.reloaded = res.At
	}
	d.state.Unlock()
	switch {
	case res.OK:
		d.log.Info("config reloaded", "event", "config.reloaded", "by", by)
	case res.Unchanged:
		d.log.Error("reload refused, the running config is unchanged", "event", "config.reload_refused", "by", by, "errors", strings.Join(res.Errors, "; "))
	default:
		d.log.Error("reload applied but for some parts, which kept their old config", "event", "config.reload_partial", "by", by, "errors", strings.Join(res.Errors, "; "))
	}
	return res
}

func (d *Daemon) reload() control.ReloadResult {
	oldCfg, oldParts := d.snapshot()
	cfg, err := Load(d.path)
	if err != nil {
		return refused(err)
	}
	if cfg.StateDir != oldCfg.StateDir {
		return refused(fmt.Errorf("state_dir changed from %s to %s: restart bartleby to move its state", oldCfg.StateDir, cfg.StateDir))
	}
	for _, w := range cfg.Warnings {
		d.log.Warn("config", "event", "config.warning", "warning", w.String())
	}
	cm, err := d.newCerts(cfg)
	if err != nil {
		return refused(err)
	}
	d.state.RLock()
	oldCerts := d.certs
	d.state.RUnlock()
	byName := map[string]*running{}
	for _, r := range oldParts {
		byName[r.Name()] = r
	}

	var res control.ReloadResult
	var next []*running
	note := func(name string, old, r *running, action string, err error) {
		if err != nil {
			res.Errors = append(res.Errors, err.Error())
		}
		if old != nil || r != nil {
			res.Parts = append(res.Parts, control.PartOutcome{Name: name, Action: action})
		}
		if r != nil {
			next = append(next, r)
		}
	}
	cfgs, cms := [2]*config.Config{oldCfg, cfg}, [2]*certs.Manager{oldCerts, cm}
	for _, b := range builders {
		r, action, err := d.reloadPart(byName[b.name], b.name, b.build, cfgs, cms)
		note(b.name, byName[b.name], r, action, err)
	}
	r, action, err := d.reloadAdmin(byName["admin"], next, cfgs, cms)
	note("admin", byName["admin"], r, action, err)
	d.setState(cfg, cm, next)
	d.setHandlers(next)
	// A part that fell back may still use the old certificates: keep them.
	if res.OK = len(res.Errors) == 0; res.OK {
		oldCerts.Close()
	}
	return res
}

// refused is the result of a reload that changed nothing, with every
// problem of the file on its own line.
func refused(err error) control.ReloadResult {
	res := control.ReloadResult{Unchanged: true}
	var problems config.Errors
	if errors.As(err, &problems) {
		for _, p := range problems {
			res.Errors = append(res.Errors, p.String())
		}
	} else {
		res.Errors = []string{err.Error()}
	}
	return res
}

// reloadPart applies the new config (cfgs[1], certs[1]) to one part and
// returns what runs afterwards (nil when the part is off). cfgs[0] and
// certs[0] are the old ones, to fall back on.
func (d *Daemon) reloadPart(old *running, name string, build part.Builder, cfgs [2]*config.Config, cms [2]*certs.Manager) (*running, string, error) {
	if rl, ok := partOf(old).(part.Reloader); ok {
		if err := rl.Reload(d.env(name, old.reg, cfgs[1], cms[1])); err != nil {
			return old, keptOld, fmt.Errorf("%s: reload: %w (the old config stays)", name, err)
		}
		return old, "reloaded in place", nil
	}
	if old == nil {
		r, err := d.build(name, build, cfgs[1], cms[1])
		if err != nil {
			return nil, "failed to start", err
		}
		return r, "started", nil
	}
	if sameSection(name, cfgs) {
		return old, "left alone (unchanged)", nil
	}
	return d.replace(old, name, build, cfgs, cms)
}

// replace builds a part anew with cfgs[1] while old drains, and falls back
// on cfgs[0] when the new one cannot start.
func (d *Daemon) replace(old *running, name string, build part.Builder, cfgs [2]*config.Config, cms [2]*certs.Manager) (*running, string, error) {
	stopped := d.drain(old)
	r, err := d.build(name, build, cfgs[1], cms[1])
	if err != nil {
		// The new part may need the old one's addresses: try again once
		// it is gone.
		<-stopped
		r, err = d.build(name, build, cfgs[1], cms[1])
	}
	switch {
	case err != nil:
		back, berr := d.build(name, build, cfgs[0], cms[0])
		if berr != nil {
			return nil, "stopped", fmt.Errorf("%w; restarting it with the old config failed too: %v", err, berr)
		}
		return back, keptOld, fmt.Errorf("%w (kept the old config)", err)
	case r == nil:
		d.metrics.up(name, false)
		return nil, "stopped", nil
	}
	return r, "restarted", nil
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
			d.log.Warn("replaced part did not drain in time", "event", "daemon.drain_timeout", "part", r.Name(), "err", err)
			return
		}
		d.log.Info("replaced part drained", "event", "daemon.part_drained", "part", r.Name())
	}()
	return done
}

// sameSection reports whether a part's config section and the keys every
// part reads (hostname, trusted proxies, ACME, fleet) are the same in both
// configs: a part that cannot reload in place is not touched then.
func sameSection(name string, cfgs [2]*config.Config) bool {
	view := func(c *config.Config) []any {
		shared := []any{c.Hostname, c.TrustedProxies, c.ACME, c.Fleet}
		switch name {
		case "web":
			return append(shared, c.Web, c.Sites)
		case "mail":
			return append(shared, c.Mail)
		case "ssh":
			return append(shared, c.SSH)
		case "watch":
			return append(shared, c.Watch)
		}
		return []any{c} // unknown part: any change counts
	}
	return reflect.DeepEqual(view(cfgs[0]), view(cfgs[1]))
}

// keptOld is the outcome of a part that refused the new config.
const keptOld = "kept the old config"

// reloadAdmin hands the admin UI the new config and the pages of the parts
// running now. It takes them in place, keeping its logins, unless
// admin.listen changed or the in-place reload failed: then it is restarted
// like any other part (or stopped, when [admin] is gone).
func (d *Daemon) reloadAdmin(old *running, parts []*running, cfgs [2]*config.Config, cms [2]*certs.Manager) (*running, string, error) {
	deps := d.adminDeps(parts)
	if a, ok := partOf(old).(*admin.Server); ok && cfgs[1].Admin != nil {
		err := a.Reload(d.env("admin", old.reg, cfgs[1], cms[1]), deps)
		if err == nil {
			return old, "reloaded in place", nil
		}
		d.log.Info("admin UI restarts, its logins are lost", "event", "admin.restart", "reason", err.Error())
	}
	if old == nil {
		return d.reloadPart(nil, "admin", d.adminBuilder(deps), cfgs, cms)
	}
	// Not left alone even when [admin] is unchanged: its in-place reload
	// failed, or it is being turned off.
	return d.replace(old, "admin", d.adminBuilder(deps), cfgs, cms)
}

func partOf(r *running) part.Part {
	if r == nil {
		return nil
	}
	return r.Part
}
