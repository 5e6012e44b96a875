package sshd

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/crypto/ssh"

	"bartleby/internal/sshd/passwd"
)

// extUser carries the authenticated user in ssh.Permissions: identity is
// taken only from the Permissions returned with a successful login, never
// from state left by callbacks (CVE-2024-45337: PublicKeyCallback also
// sees keys the client never proves it holds).
const (
	extUser   = "bartleby-user"
	extMethod = "bartleby-method"
	extKey    = "bartleby-key"
)

var errAuth = errors.New("authentication failed")

func (s *Server) password(g *generation, c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
	if d := s.defender.Delay(remoteAddr(c.RemoteAddr())); d > 0 {
		time.Sleep(d)
	}
	start := time.Now()
	perms, err := g.checkPassword(c.User(), pw)
	s.failTimer.settle(start, err != nil)
	return perms, err
}

// checkPassword checks pw for user; an unknown user or one without a
// password costs a check against the dummy hash (see timing.go).
func (g *generation) checkPassword(user string, pw []byte) (*ssh.Permissions, error) {
	u := g.users[user]
	if u == nil || u.hash == "" {
		passwd.Verify(g.dummyHash, string(pw))
		return nil, errAuth
	}
	if !passwd.Verify(u.hash, string(pw)) {
		return nil, errAuth
	}
	return &ssh.Permissions{Extensions: map[string]string{extUser: u.Name, extMethod: "password"}}, nil
}

func publicKey(g *generation, c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	u := g.users[c.User()]
	if u == nil {
		return nil, errAuth
	}
	wire := key.Marshal()
	for _, k := range u.keys {
		if !bytes.Equal(k.Pub.Marshal(), wire) {
			continue
		}
		addr := remoteAddr(c.RemoteAddr())
		if !k.Allows(addr) {
			return nil, fmt.Errorf("key %s is not allowed from %s (from= option)", ssh.FingerprintSHA256(key), addr)
		}
		return &ssh.Permissions{Extensions: map[string]string{
			extUser: u.Name, extMethod: "publickey", extKey: ssh.FingerprintSHA256(key)}}, nil
	}
	return nil, errAuth
}

// authLog logs every attempt and feeds the defender. A client's first
// "none" probe is not a failure.
func (s *Server) authLog(c ssh.ConnMetadata, method string, err error) {
	addr := remoteAddr(c.RemoteAddr())
	if method == "none" {
		return
	}
	if err == nil {
		s.metrics.logins.WithLabelValues(method, "ok").Inc()
		s.defender.Succeed(addr)
		return // logged with the key fingerprint once the session starts
	}
	var partial *ssh.PartialSuccessError
	if errors.As(err, &partial) {
		return
	}
	s.metrics.logins.WithLabelValues(method, "fail").Inc()
	s.failedHour.Add()
	s.log.Warn("login failed", "event", "ssh.login_failed", "user", c.User(), "addr", addr, "method", method, "err", err)
	s.mu.Lock()
	s.failedConns[c.RemoteAddr().String()] = true
	s.mu.Unlock()
	s.fail(addr, "", "")
}

// fail counts a failure against addr for the defender; why, when not
// "", is logged with event as its key.
func (s *Server) fail(addr netip.Addr, event, why string) {
	if why != "" {
		s.log.Info(why, "event", event, "addr", addr)
	}
	if until, blocked := s.defender.Fail(addr); blocked {
		s.log.Warn("address blocked after repeated failed logins", "event", "ssh.blocked", "addr", addr, "until", until.Format(time.RFC3339))
		if s.blocks != nil {
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.blocks.publish(key(addr), until) }()
		}
	}
}

// takeFailed reports, and forgets, whether the connection from remote
// has failed a login.
func (s *Server) takeFailed(remote net.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := remote.String()
	failed := s.failedConns[k]
	delete(s.failedConns, k)
	return failed
}
