package mail

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"bartleby/internal/config"
	"bartleby/internal/mail/smtpd"
	"bartleby/internal/part"
)

// Reload takes a new [mail] in place. The queue, the deliveries and the
// listening sockets stay; the smarthost, domains, aliases, limits and
// certificates apply to new SMTP sessions and the next delivery attempts,
// while sessions already open finish on the config they started with.
// Addresses added are bound, addresses removed closed (their sessions
// still finish). What cannot change in place is refused (inPlace), and
// the old config stays.
func (m *Mail) Reload(env *part.Env) error {
	if env.Config.Mail == nil {
		return errors.New("[mail] was removed: restart bartleby to turn the mail relay off")
	}
	if err := inPlace(m.conf().cfg, env.Config.Mail); err != nil {
		return err
	}
	k, err := newConf(env)
	if err != nil {
		return err
	}
	g, err := m.newServers(k)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	want := wanted(k.cfg)
	var keep, drop []*socket
	for _, s := range m.sockets {
		if slices.Contains(want, slot{s.role, s.addr}) {
			keep = append(keep, s)
		} else {
			drop = append(drop, s)
		}
	}
	added, err := m.openSockets(k, missing(want, keep))
	if err != nil {
		g.shutdown(context.Background())
		return err
	}
	m.cur.Store(k)
	for _, s := range keep {
		if s.role == roleMX {
			b := k.cfg.BackupMX
			smtpd.SetLimits(s.ln, b.MaxConnections, b.MaxPerIP, b.GreetPause.Duration)
		}
		s.feed(g)
	}
	for _, s := range added {
		s.feed(g)
		s.serve(m)
	}
	for _, s := range drop {
		s.ln.Close()
		m.log.Info("smtp listener closed", "event", "mail.listener_closed", "role", s.role, "addr", s.addr)
	}
	old := m.live
	m.live, m.sockets = g, append(keep, added...)
	m.drains.Add(1)
	go func() {
		// Sessions end by themselves: on QUIT or at go-smtp's timeouts.
		defer m.drains.Done()
		old.shutdown(context.Background())
	}()
	m.log.Info("mail config reloaded", "event", "mail.reload", "listeners", len(m.sockets))
	return nil
}

// missing lists the slots of want no socket serves.
func missing(want []slot, have []*socket) []slot {
	var out []slot
	for _, w := range want {
		if !slices.ContainsFunc(have, func(s *socket) bool { return s.role == w.role && s.addr == w.addr }) {
			out = append(out, w)
		}
	}
	return out
}

// inPlace refuses the changes a running mail part cannot take: where
// dropped mail waits, and the delivery routes and their workers.
func inPlace(old, cfg *config.Mail) error {
	switch {
	case cfg.Maildrop != old.Maildrop:
		return fmt.Errorf("mail.maildrop changed from %s to %s: restart bartleby to move the maildrop", old.Maildrop, cfg.Maildrop)
	case (cfg.Smarthost == nil) != (old.Smarthost == nil):
		return errors.New("[mail.smarthost] was added or removed: restart bartleby to apply it")
	case cfg.Smarthost != nil && cfg.Smarthost.Connections != old.Smarthost.Connections:
		return errors.New("mail.smarthost.connections changed: restart bartleby to apply it")
	case (cfg.BackupMX == nil) != (old.BackupMX == nil):
		return errors.New("[mail.backup_mx] was added or removed: restart bartleby to apply it")
	}
	return nil
}
