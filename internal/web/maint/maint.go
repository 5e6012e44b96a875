// Package maint is maintenance mode: per-site on/off state switched at run
// time and kept in state_dir, the self-contained 503 page, and the bypass
// (IP allowlist, a secret URL that sets a signed cookie) for the people
// doing the work.
//
// A site is named by its first host. The state is held in memory behind an
// atomic pointer, so a switch is effective for the next request; the file
// in state_dir is only read at start.
package maint

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"bartleby/internal/config"
)

// Manager holds every site's maintenance state and settings.
type Manager struct {
	log  *slog.Logger
	file string // state file in state_dir

	mu     sync.Mutex // serialises switches, reloads and state writes
	snap   atomic.Pointer[snapshot]
	timers map[string]*time.Timer // auto-off at Until, by site name
	now    func() time.Time
	shared *shared        // the fleet's switch; nil on a single host
	cfg    *config.Config // installed, to install again with the fleet's secrets
	fleet  *fleetSecrets  // nil until read from the fleet
	change chan struct{}  // closed and replaced at every switch
}

// snapshot is an immutable view of every site, replaced as a whole.
type snapshot struct {
	sites map[string]*site
	names []string // sorted, for messages
}

// site is one site's compiled settings and current mode.
type site struct {
	name string
	cfg  siteConfig
	mode *Mode // nil when off
	// resp is the prerendered 503 for the current mode (or for
	// when_backend_down when off).
	resp *response
}

// Mode is a site's maintenance switch as set by `maint on`.
type Mode struct {
	Site    string    `json:"site"`
	Since   time.Time `json:"since"`
	Who     string    `json:"who"`
	Until   time.Time `json:"until,omitzero"`
	Message string    `json:"message,omitempty"`
}

// Name is what the CLI and the admin UI call a site: its first host.
func Name(s *config.Site) string {
	if len(s.Hosts) == 0 {
		return ""
	}
	return strings.ToLower(s.Hosts[0])
}

// NewManager builds the manager for the config's sites and restores the
// state saved in its state_dir by a previous run.
func NewManager(cfg *config.Config, log *slog.Logger) (*Manager, error) {
	m := &Manager{log: log, file: stateFile(cfg.StateDir), timers: map[string]*time.Timer{}, now: time.Now, change: make(chan struct{})}
	modes, err := loadState(m.file)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.install(cfg, modes); err != nil {
		return nil, err
	}
	return m, nil
}

// Reload takes new site settings, keeping every site's mode.
func (m *Manager) Reload(cfg *config.Config) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.install(cfg, m.modes())
}

// modes returns the current modes by site name. Callers hold mu.
func (m *Manager) modes() map[string]*Mode {
	out := map[string]*Mode{}
	if s := m.snap.Load(); s != nil {
		for n, st := range s.sites {
			if st.mode != nil {
				out[n] = st.mode
			}
		}
	}
	return out
}

// install compiles sites with modes and publishes them. Callers hold mu.
func (m *Manager) install(cfg *config.Config, modes map[string]*Mode) error {
	snap := &snapshot{sites: map[string]*site{}}
	c := cfg.Checker()
	trusted := config.Prefixes(cfg.TrustedProxies)
	for i, cs := range cfg.Sites {
		name := Name(cs)
		if name == "" {
			continue
		}
		if _, dup := snap.sites[name]; dup {
			return fmt.Errorf("maintenance: two sites are named %q (a site's name is its first host)", name)
		}
		st := &site{name: name, cfg: compile(c, fmt.Sprintf("site[%d].maintenance", i+1), cs, trusted)}
		st.cfg.withFleetSecrets(m.fleet)
		if md := modes[name]; md != nil && m.active(md) {
			st.mode = md
		}
		st.resp = st.cfg.render(st.mode, m.now())
		snap.sites[name] = st
		snap.names = append(snap.names, name)
	}
	if err := c.Err(); err != nil {
		return err
	}
	sort.Strings(snap.names)
	m.cfg = cfg
	m.snap.Store(snap)
	m.resetTimers()
	return nil
}

// active reports whether a mode has not yet reached its end.
func (m *Manager) active(md *Mode) bool {
	return md.Until.IsZero() || m.now().Before(md.Until)
}

// resetTimers arms one auto-off timer per site with an end. Callers hold mu.
func (m *Manager) resetTimers() {
	for n, t := range m.timers {
		t.Stop()
		delete(m.timers, n)
	}
	for n, st := range m.snap.Load().sites {
		if st.mode == nil || st.mode.Until.IsZero() {
			continue
		}
		name, until := n, st.mode.Until
		m.timers[n] = time.AfterFunc(until.Sub(m.now()), func() { m.expire(name, until) })
	}
}

// expire turns a site off when its end is reached, unless it was switched
// again meanwhile.
func (m *Manager) expire(name string, until time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.snap.Load().sites[name]
	if st == nil || st.mode == nil || !st.mode.Until.Equal(until) {
		return
	}
	if err := m.set(name, nil); err != nil {
		m.log.Error("maintenance: automatic end", "event", "web.maint_error", "site", name, "err", err)
		return
	}
	m.log.Info("maintenance ended automatically", "event", "web.maint_off", "site", name, "until", until)
}

// errUnknownSite lists the sites so the operator can correct the name.
func (s *snapshot) errUnknownSite(name string) error {
	if len(s.names) == 0 {
		return fmt.Errorf("no site %q: no site is configured", name)
	}
	return fmt.Errorf("no site %q; the sites are: %s", name, strings.Join(s.names, ", "))
}

// On puts a site in maintenance.
func (m *Manager) On(md Mode) (Mode, error) {
	md.Site = strings.ToLower(md.Site)
	if !md.Until.IsZero() && !md.Until.After(m.now()) {
		return Mode{}, fmt.Errorf("the end %s is in the past", md.Until.UTC().Format(time.RFC3339))
	}
	if len(md.Message) > maxMessage {
		return Mode{}, fmt.Errorf("the message is longer than %d bytes", maxMessage)
	}
	if md.Since.IsZero() {
		md.Since = m.now().UTC().Truncate(time.Second)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.set(md.Site, &md); err != nil {
		return Mode{}, err
	}
	m.log.Info("maintenance on", "event", "web.maint_on", "site", md.Site, "who", md.Who, "until", md.Until, "message", md.Message)
	return md, nil
}

// Off ends a site's maintenance.
func (m *Manager) Off(name, who string) error {
	name = strings.ToLower(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.set(name, nil); err != nil {
		return err
	}
	m.log.Info("maintenance off", "event", "web.maint_off", "site", name, "who", who)
	return nil
}

// maxMessage bounds an operator's message.
const maxMessage = 2000

// set switches one site: through etcd first in a fleet (refused without
// quorum), then here. Callers hold mu.
func (m *Manager) set(name string, md *Mode) error {
	if m.snap.Load().sites[name] == nil {
		return m.snap.Load().errUnknownSite(name)
	}
	if m.shared != nil {
		if err := m.shared.publish(name, md); err != nil {
			return err
		}
	}
	return m.setLocal(name, md)
}

// Changed returns a channel closed at the next switch of any site on this
// node, whether typed here or received from the fleet.
func (m *Manager) Changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.change
}

// setLocal changes one site's mode, saves every mode and publishes the new
// snapshot. The file is written first: a switch that cannot be persisted
// is refused rather than lost at the next restart. Callers hold mu.
func (m *Manager) setLocal(name string, md *Mode) error {
	old := m.snap.Load()
	st := old.sites[name]
	if st == nil {
		return old.errUnknownSite(name)
	}
	modes := m.modes()
	if md == nil {
		delete(modes, name)
	} else {
		modes[name] = md
	}
	if err := saveState(m.file, modes); err != nil {
		return err
	}
	snap := &snapshot{sites: make(map[string]*site, len(old.sites)), names: old.names}
	for n, s := range old.sites {
		snap.sites[n] = s
	}
	ns := &site{name: name, cfg: st.cfg, mode: md}
	ns.resp = ns.cfg.render(md, m.now())
	snap.sites[name] = ns
	m.snap.Store(snap)
	m.resetTimers()
	close(m.change)
	m.change = make(chan struct{})
	return nil
}

// Status lists every site's state, sorted by name.
func (m *Manager) Status() []SiteStatus {
	snap := m.snap.Load()
	out := make([]SiteStatus, 0, len(snap.names))
	for _, n := range snap.names {
		st := snap.sites[n]
		s := SiteStatus{Site: n, Bypass: st.cfg.bypassSummary(), WhenBackendDown: st.cfg.whenBackendDown}
		if st.mode != nil && m.active(st.mode) {
			md := *st.mode
			s.On, s.Mode = true, &md
		}
		out = append(out, s)
	}
	return out
}

// SiteStatus is one line of `bartleby maint status`.
type SiteStatus struct {
	Site            string `json:"site"`
	On              bool   `json:"on"`
	Mode            *Mode  `json:"mode,omitempty"`
	Bypass          string `json:"bypass"`
	WhenBackendDown bool   `json:"when_backend_down,omitempty"`
	// In fleet mode: every node's applied state, or why it is unknown.
	Nodes      []NodeState `json:"nodes,omitempty"`
	FleetError string      `json:"fleet_error,omitempty"`
}

// errNoSite is returned for a command without a site.
var errNoSite = errors.New("which site? give its name (its first host)")
