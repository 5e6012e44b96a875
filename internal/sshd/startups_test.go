package sshd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	"bartleby/internal/part"
	"bartleby/internal/testutil"
)

// dialFrom connects to addr from the loopback address src (all of
// 127.0.0.0/8 is loopback).
func dialFrom(src, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	return d.Dial("tcp", addr)
}

// startUsers starts the ssh part with the [ssh] settings given and users
// (roots "root", "www", … in turn) whose password is "secret", logging
// to log, until the test ends; it returns the listening address.
func startUsers(t *testing.T, settings string, log slog.Handler, users ...string) (string, *Server) {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	listen := testutil.FreePort(t)
	config := fmt.Sprintf("[ssh]\nlisten = %q\n%s\n", listen, settings)
	for i, u := range users {
		config += fmt.Sprintf("[[ssh.user]]\nname = %q\npassword = %q\nroot = %q\n", u, hash, []string{"root", "www"}[i%2])
	}
	cfg, err := parse(t, config)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(&part.Env{Config: cfg, Log: slog.New(log), Metrics: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	s := p.(*Server)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return listen, s
}

// login logs user in with the password startUsers gives.
func login(listen, user string) (*ssh.Client, error) {
	return ssh.Dial("tcp", listen, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.Password("secret")},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
}

// TestPreAuthFlood: 100 idle connections from 127.0.0.1 neither fill the
// server nor keep 127.0.0.2 from logging in, and each that ends without
// logging in counts as a failure, so 127.0.0.1 ends up blocked.
func TestPreAuthFlood(t *testing.T) {
	t.Parallel()
	listen, s := startUsers(t, "", slog.DiscardHandler, "bob")

	var idle []net.Conn
	for range 100 {
		c, err := dialFrom("127.0.0.1", listen)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	client, err := dialFrom("127.0.0.2", listen)
	if err != nil {
		t.Fatal(err)
	}
	client.SetDeadline(time.Now().Add(20 * time.Second))
	sc, _, _, err := ssh.NewClientConn(client, listen, &ssh.ClientConfig{
		User: "bob", Auth: []ssh.AuthMethod{ssh.Password("secret")},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // the server was made just now
	})
	if err != nil {
		t.Fatalf("127.0.0.2 could not log in beside 100 idle connections from 127.0.0.1: %v", err)
	}
	sc.Close()

	for _, c := range idle {
		c.Close()
	}
	flooder := netip.MustParseAddr("127.0.0.1")
	testutil.Eventually(t, 20*time.Second, "connections that ended without logging in to block 127.0.0.1", func() error {
		if !s.defender.Blocked(flooder) {
			return errors.New("not blocked")
		}
		return nil
	})
	if s.defender.Blocked(netip.MustParseAddr("127.0.0.2")) {
		t.Error("the client that logged in is blocked")
	}
}
