package sshd

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"golang.org/x/crypto/ssh"

	"bartleby/internal/testutil"
)

// TestRefusalFloodCutsTheConnection: a logged-in client looping on
// refused requests (session requests, global requests, channel opens)
// is cut after maxRefused of them, each kind, with at most maxRefused
// log lines, and keepalives do not count.
func TestRefusalFloodCutsTheConnection(t *testing.T) {
	t.Parallel()
	var logs testutil.SyncBuffer
	listen, _ := startUsers(t, "", slog.NewJSONHandler(&logs, nil), "bob")
	var session ssh.Channel
	floods := map[string]func(*ssh.Client) error{
		"ssh.request_refused": func(c *ssh.Client) error {
			if session == nil {
				ch, reqs, err := c.OpenChannel("session", nil)
				if err != nil {
					return err
				}
				go ssh.DiscardRequests(reqs)
				session = ch
			}
			_, err := session.SendRequest("pty-req", true, nil)
			return err
		},
		"ssh.global_refused": func(c *ssh.Client) error {
			_, _, err := c.SendRequest("tcpip-forward", true, ssh.Marshal(struct {
				Addr string
				Port uint32
			}{"127.0.0.1", 0}))
			return err
		},
		"ssh.channel_refused": func(c *ssh.Client) error {
			_, _, err := c.OpenChannel("direct-tcpip", nil)
			if _, ok := err.(*ssh.OpenChannelError); ok {
				return nil
			}
			return err
		},
	}
	for event, flood := range floods {
		c, err := login(listen, "bob")
		if err != nil {
			t.Fatal(err)
		}
		for range 100 {
			if _, _, err := c.SendRequest("keepalive@openssh.com", true, nil); err != nil {
				t.Fatalf("%s: a keepalive failed: %v", event, err)
			}
		}
		sent := 0
		for ; sent < 10*maxRefused; sent++ {
			if flood(c) != nil {
				break
			}
		}
		c.Close()
		if sent > maxRefused+1 {
			t.Errorf("%s: %d refused requests went through on one connection", event, sent)
		}
		if n := strings.Count(logs.String(), `"event":"`+event+`"`); n > maxRefused {
			t.Errorf("%s: %d log lines", event, n)
		}
	}
	if n := strings.Count(logs.String(), `"event":"ssh.refused_flood"`); n != len(floods) {
		t.Errorf("%d connections cut for refused floods, want %d", n, len(floods))
	}
}

// TestPerUserMaxConnections: a user holding per_user_max_connections
// logged-in connections gets no session on another, and is told why;
// another user still logs in, and a closed connection frees its place.
func TestPerUserMaxConnections(t *testing.T) {
	t.Parallel()
	listen, srv := startUsers(t, "per_user_max_connections = 2", slog.DiscardHandler, "bob", "carol")
	session := func(user string) (*ssh.Client, error) {
		c, err := login(listen, user)
		if err != nil {
			return nil, err
		}
		ch, reqs, err := c.OpenChannel("session", nil)
		if err != nil {
			c.Close()
			return nil, err
		}
		go ssh.DiscardRequests(reqs)
		ch.Close()
		return c, nil
	}
	var held []*ssh.Client
	for i := range 2 {
		c, err := session("bob")
		if err != nil {
			t.Fatalf("bob's connection %d: %v", i+1, err)
		}
		held = append(held, c)
	}
	if c, err := session("bob"); err == nil {
		c.Close()
		t.Fatal("bob got a third connection")
	} else if !strings.Contains(err.Error(), "per_user_max_connections") {
		t.Errorf("bob's third connection: %v, want the reason", err)
	}
	var m dto.Metric
	srv.metrics.refused.WithLabelValues("per_user").Write(&m)
	if n := m.GetCounter().GetValue(); n != 1 {
		t.Errorf("refused{reason=per_user} = %v, want 1", n)
	}
	c, err := session("carol")
	if err != nil {
		t.Fatalf("carol beside bob's connections: %v", err)
	}
	c.Close()
	held[0].Close()
	held[0].Wait()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c, err := session("bob")
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob's closed connection was not freed: %v", err)
		}
	}
	held[1].Close()
}

// TestSessionsAtOnce: maxChannels bounds the sessions open at once, not
// in a connection's life (a ControlMaster connection runs many).
func TestSessionsAtOnce(t *testing.T) {
	t.Parallel()
	listen, _ := startUsers(t, "", slog.DiscardHandler, "bob")
	c, err := login(listen, "bob")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for round := range 3 {
		type session struct {
			ch   ssh.Channel
			reqs <-chan *ssh.Request
		}
		var open []session
		for i := range maxChannels {
			ch, reqs, err := c.OpenChannel("session", nil)
			if err != nil {
				t.Fatalf("round %d, session %d: %v", round, i+1, err)
			}
			open = append(open, session{ch, reqs})
		}
		if ch, _, err := c.OpenChannel("session", nil); err == nil {
			ch.Close()
			t.Fatalf("round %d: session %d opened", round, maxChannels+1)
		}
		for _, s := range open {
			s.ch.Close()
			for range s.reqs { // until the server's close, sent once it freed the session
			}
		}
	}
}
