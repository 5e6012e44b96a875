package sshd

import (
	"bytes"
	"errors"
	"fmt"
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

func (s *Server) password(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
	if d := s.defender.Delay(remoteAddr(c.RemoteAddr())); d > 0 {
		time.Sleep(d)
	}
	u := s.users[c.User()]
	if u == nil || u.Hash == "" {
		passwd.Verify(s.dummyHash, string(pw)) // as slow as a known user
		return nil, errAuth
	}
	if !passwd.Verify(u.Hash, string(pw)) {
		return nil, errAuth
	}
	return &ssh.Permissions{Extensions: map[string]string{extUser: u.Name, extMethod: "password"}}, nil
}

func (s *Server) publicKey(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	u := s.users[c.User()]
	if u == nil {
		return nil, errAuth
	}
	wire := key.Marshal()
	for _, k := range u.PublicKeys {
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
	s.log.Warn("login failed", "event", "ssh.login_failed", "user", c.User(), "addr", addr, "method", method, "err", err)
	if s.defender.Fail(addr) {
		s.log.Warn("address blocked after repeated failed logins", "event", "ssh.blocked", "addr", addr, "for", s.defender.blockFor.String())
	}
}
