package maint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"bartleby/internal/fleet"
)

// shared is the fleet side of the switch: every site's mode under
// PREFIX/maint/SITE (absent: off), watched by every node. A node cut off
// from etcd keeps serving the last state it saw (kept in state_dir too, so
// a restart without etcd still has it) and catches up when etcd is back.
type shared struct {
	f      *fleet.Fleet
	prefix string
	stop   context.CancelFunc
	done   chan struct{}

	reported string // this node's last report written (see report); follow's own
}

// maxModeSize bounds one mode read from etcd.
const maxModeSize = 16 << 10

// Share makes the switch fleet-wide: switches go through etcd first and
// every node applies them from a watch. Stop with Unshare.
func (m *Manager) Share(f *fleet.Fleet) {
	ctx, stop := context.WithCancel(context.Background())
	sh := &shared{f: f, prefix: f.Prefix("maint"), stop: stop, done: make(chan struct{})}
	m.mu.Lock()
	m.shared = sh
	m.mu.Unlock()
	go m.follow(ctx, sh)
}

// Unshare stops following the fleet.
func (m *Manager) Unshare() {
	m.mu.Lock()
	sh := m.shared
	m.shared = nil
	m.mu.Unlock()
	if sh != nil {
		sh.stop()
		<-sh.done
	}
}

// ErrNoQuorum refuses a switch the fleet cannot commit: switching this node
// alone would let visitors bouncing between nodes see the site flip, and
// the fleet's state would undo it when etcd is back.
var ErrNoQuorum = errors.New("fleet has no quorum: maintenance NOT switched on any node (the nodes keep serving the last known state; fix etcd, or remove [fleet] to run this node alone)")

// publish writes one site's mode to etcd; the watch then applies it on
// every node, this one included. The write is idempotent, so it is tried
// again in short attempts: a leader election after a member died takes
// under a second and must not refuse the switch. Callers hold mu.
func (sh *shared) publish(name string, md *Mode) error {
	ctx, cancel := sh.f.Timeout(context.Background())
	defer cancel()
	for {
		err := sh.write(ctx, name, md)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("maintenance %s: %w (%v)", name, ErrNoQuorum, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (sh *shared) write(ctx context.Context, name string, md *Mode) error {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if md == nil {
		_, err := sh.f.Client().Delete(ctx, sh.prefix+name)
		return err
	}
	b, err := json.Marshal(md)
	if err != nil {
		return err
	}
	_, err = sh.f.Client().Put(ctx, sh.prefix+name, string(b))
	return err
}

// follow loads the fleet's state and applies every change from a watch;
// when the watch breaks (no leader, member gone) it loads again.
func (m *Manager) follow(ctx context.Context, sh *shared) {
	defer close(sh.done)
	for ctx.Err() == nil {
		// The watch starts after the older read, so that a token
		// published between the two reads is not missed.
		rev, err := m.syncSecrets(ctx, sh)
		if err == nil {
			err = m.syncAll(ctx, sh)
		}
		if err == nil {
			m.report(ctx, sh)
			err = m.watch(ctx, sh, rev)
		}
		if ctx.Err() != nil {
			return
		}
		m.log.Warn("maintenance: fleet state unavailable; serving the last known state", "event", "web.maint_fleet_unavailable", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// syncAll makes this node's modes those in etcd.
func (m *Manager) syncAll(ctx context.Context, sh *shared) error {
	rctx, cancel := sh.f.Timeout(ctx)
	defer cancel()
	resp, err := sh.f.Client().Get(rctx, sh.prefix, clientv3.WithPrefix(), clientv3.WithLimit(maxSites))
	if err != nil {
		return err
	}
	modes := map[string]*Mode{}
	for _, kv := range resp.Kvs {
		name := strings.TrimPrefix(string(kv.Key), sh.prefix)
		if md, err := decodeMode(name, kv.Value); err == nil {
			modes[name] = md
		} else {
			m.log.Error("maintenance: bad mode in etcd", "event", "web.maint_fleet_bad_state", "site", name, "err", err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, name := range m.snap.Load().names {
		if err := m.apply(name, modes[name]); err != nil {
			return err
		}
	}
	return nil
}

// syncSecrets reads the fleet's bypass secrets and installs the sites
// again with them; it returns the revision read.
func (m *Manager) syncSecrets(ctx context.Context, sh *shared) (int64, error) {
	fs, rev, err := m.loadSecrets(ctx, sh)
	if err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fleet = fs
	return rev, m.install(m.cfg, m.modes())
}

// watch applies changes after rev until the watch ends: switches, and
// bypass tokens published by other nodes. One watch covers both
// PREFIX/maint/ and PREFIX/maint-secrets/.
func (m *Manager) watch(ctx context.Context, sh *shared, rev int64) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	both := strings.TrimSuffix(sh.prefix, "/")
	for resp := range sh.f.Client().Watch(wctx, both, clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
		if err := resp.Err(); err != nil {
			return err
		}
		m.mu.Lock()
		for _, ev := range resp.Events {
			if strings.HasPrefix(string(ev.Kv.Key), sh.tokenName("")) {
				m.tokenChanged(sh, ev)
				continue
			}
			if !strings.HasPrefix(string(ev.Kv.Key), sh.prefix) {
				continue
			}
			name := strings.TrimPrefix(string(ev.Kv.Key), sh.prefix)
			var md *Mode
			if ev.Type == clientv3.EventTypePut {
				var err error
				if md, err = decodeMode(name, ev.Kv.Value); err != nil {
					m.log.Error("maintenance: bad mode in etcd", "event", "web.maint_fleet_bad_state", "site", name, "err", err)
					continue
				}
			}
			if err := m.apply(name, md); err != nil {
				m.log.Error("maintenance: applying the fleet's switch", "event", "web.maint_fleet_failed", "site", name, "err", err)
			}
		}
		m.mu.Unlock()
		m.report(ctx, sh)
	}
	return fmt.Errorf("watch ended: %w", ctx.Err())
}

// tokenChanged takes a bypass token another node published (or deleted)
// and installs the sites again. Callers hold mu.
func (m *Manager) tokenChanged(sh *shared, ev *clientv3.Event) {
	if m.fleet == nil {
		return
	}
	site, tok := strings.TrimPrefix(string(ev.Kv.Key), sh.tokenName("")), ""
	if ev.Type == clientv3.EventTypePut {
		var err error
		if site, tok, err = sh.openToken(ev.Kv.Key, ev.Kv.Value); err != nil {
			m.log.Error("maintenance: bad bypass token in etcd", "event", "web.maint_fleet_bad_state", "err", err)
			return
		}
	}
	if m.fleet.tokens[site] == tok {
		return
	}
	if tok == "" {
		delete(m.fleet.tokens, site)
	} else {
		m.fleet.tokens[site] = tok
	}
	if err := m.install(m.cfg, m.modes()); err != nil {
		m.log.Error("maintenance: installing the fleet's bypass token", "event", "web.maint_fleet_failed", "site", site, "err", err)
	}
}

// apply sets a mode that came from the fleet, if this node has the site
// and it differs. Callers hold mu.
func (m *Manager) apply(name string, md *Mode) error {
	st := m.snap.Load().sites[name]
	if st == nil || sameMode(st.mode, md) {
		return nil
	}
	if err := m.setLocal(name, md); err != nil {
		return err
	}
	if md != nil {
		m.log.Info("maintenance on (from the fleet)", "event", "web.maint_on", "site", name, "who", md.Who)
	} else {
		m.log.Info("maintenance off (from the fleet)", "event", "web.maint_off", "site", name)
	}
	return nil
}

func sameMode(a, b *Mode) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Since.Equal(b.Since) && a.Who == b.Who && a.Until.Equal(b.Until) && a.Message == b.Message
}

func decodeMode(name string, b []byte) (*Mode, error) {
	if len(b) > maxModeSize {
		return nil, fmt.Errorf("%d bytes", len(b))
	}
	var md Mode
	if err := json.Unmarshal(b, &md); err != nil {
		return nil, err
	}
	md.Site = name
	return &md, nil
}

// maxSites bounds what a sync reads.
const maxSites = 10000
