package sshd

import (
	"bartleby/internal/accept"
	"errors"
	"fmt"
	"net"

	"golang.org/x/crypto/ssh"

	"bartleby/internal/part"
)

// Reload takes a new [ssh] in place: users, keys, limits, ciphers and host
// keys apply to new connections, the defender keeps its counts under the
// new settings, and the listener stays open unless listen changed (then
// the new address is bound before the old one is closed). Connections
// already in go on with the config they started with, SFTP and rsync
// transfers included, except those of users the new config removes: their
// connections are closed.
func (s *Server) Reload(env *part.Env) error {
	c := env.Config.SSH
	if c == nil {
		return errors.New("[ssh] was removed: restart bartleby to turn the SSH server off")
	}
	old := s.cur.Load()
	g, err := s.compile(env.Config, old)
	if err != nil {
		return err
	}
	if err := prepareDirs(g); err != nil {
		return err
	}
	var ln net.Listener
	if c.Listen != old.cfg.Listen {
		if ln, err = net.Listen("tcp", c.Listen); err != nil {
			return fmt.Errorf("listen on %s: %w", c.Listen, err)
		}
		ln = accept.Retry(ln, s.log, s.died)
	}
	s.defender.set(c.Defender.Failures, c.Defender.Window.Duration, c.Defender.BlockFor.Duration)
	s.swap(g)
	if ln != nil {
		s.mu.Lock()
		s.ln.Close()
		s.ln = ln
		s.mu.Unlock()
		s.log.Info("listening", "event", "ssh.listening", "addr", ln.Addr().String(), "was", old.cfg.Listen)
		s.wg.Add(1)
		go s.serve(ln)
	}
	s.log.Info("ssh config reloaded", "event", "ssh.reload", "users", len(g.users))
	return nil
}

// swap makes g the config of new connections and closes the connections
// of users g no longer has. It holds mu so that a login finishing now is
// either seen here or checks against g (logIn).
func (s *Server) swap(g *generation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur.Store(g)
	for sc, name := range s.logins {
		if g.users[name] == nil {
			s.log.Warn("user removed from the config: closing their connection", "event", "ssh.user_removed", "user", name, "addr", sc.RemoteAddr().String())
			sc.Close()
		}
	}
}

// errUserRemoved refuses a login whose user a reload removed meanwhile.
var errUserRemoved = errors.New("the user was removed from the config meanwhile")

// logIn records a logged-in connection; it refuses one whose user is no
// longer in the current config (removed by a reload during the login) or
// already holds per_user_max_connections.
func (s *Server) logIn(sc *ssh.ServerConn, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.cur.Load()
	if g.users[name] == nil {
		return errUserRemoved
	}
	n := 0
	for _, other := range s.logins {
		if other == name {
			n++
		}
	}
	if n >= g.cfg.PerUserMaxConnections {
		return fmt.Errorf("the user already has %d connections (per_user_max_connections)", n)
	}
	s.logins[sc] = name
	return nil
}

func (s *Server) logOut(sc *ssh.ServerConn) {
	s.mu.Lock()
	delete(s.logins, sc)
	s.mu.Unlock()
}
