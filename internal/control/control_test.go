package control

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCallAndErrors(t *testing.T) {
	dir := t.TempDir()
	s, err := Listen(dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(func(err error) { t.Errorf("control socket died: %v", err) })
	defer s.Close()
	s.SetHandlers(map[string]Handler{
		"echo": func(_ context.Context, args json.RawMessage) (any, error) {
			var in struct{ Word string }
			if err := json.Unmarshal(args, &in); err != nil {
				return nil, err
			}
			return map[string]string{"said": in.Word}, nil
		},
		"fail": func(context.Context, json.RawMessage) (any, error) { return nil, errors.New("no such site \"x\"") },
		"whoami": func(ctx context.Context, _ json.RawMessage) (any, error) {
			p, ok := PeerFrom(ctx)
			if !ok {
				return nil, errors.New("no peer credentials")
			}
			return p, nil
		},
	})

	st, err := os.Stat(filepath.Join(dir, SocketName))
	if err != nil || st.Mode().Perm() != socketMode {
		t.Fatalf("socket mode: %v %v", st.Mode(), err)
	}

	c, err := Dial(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out struct{ Said string }
	if err := c.Call("echo", map[string]string{"word": "hi"}, &out); err != nil || out.Said != "hi" {
		t.Fatalf("echo: %+v %v", out, err)
	}
	// Several calls share one connection.
	if err := c.Call("fail", nil, nil); err == nil || err.Error() != `no such site "x"` {
		t.Fatalf("fail: %v", err)
	}
	var peer Peer
	if err := c.Call("whoami", nil, &peer); err != nil || peer.UID != os.Getuid() || peer.PID != os.Getpid() {
		t.Fatalf("peer %+v, %v; want uid %d pid %d", peer, err, os.Getuid(), os.Getpid())
	}
	err = c.Call("nope", nil, nil)
	if err == nil || !strings.Contains(err.Error(), `unknown command "nope" (known: echo, fail, whoami)`) {
		t.Fatalf("unknown: %v", err)
	}

	// A second daemon on the same state_dir is refused.
	if _, err := Listen(dir, slog.Default()); err == nil || !strings.Contains(err.Error(), "another bartleby is running") {
		t.Fatalf("second listener: %v", err)
	}
}

func TestDialNotRunning(t *testing.T) {
	_, err := Dial(t.TempDir())
	if !errors.Is(err, ErrNotRunning) {
		t.Fatalf("want ErrNotRunning, got %v", err)
	}
}

func TestStaleSocketReplaced(t *testing.T) {
	dir := t.TempDir()
	// A socket file left by a crashed daemon: nothing answers on it.
	if err := os.WriteFile(filepath.Join(dir, SocketName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Listen(dir, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// TestCloseHangsUpOnIdleClients: a CLI left connected does not hold up the
// daemon's stop.
func TestCloseHangsUpOnIdleClients(t *testing.T) {
	dir := t.TempDir()
	s, err := Listen(dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(func(err error) { t.Errorf("control socket died: %v", err) })
	s.SetHandlers(map[string]Handler{"ping": func(context.Context, json.RawMessage) (any, error) { return "pong", nil }})
	c, err := Dial(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Call("ping", nil, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- s.Close() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Close waited for an idle client")
	}
	if err := c.Call("ping", nil, nil); err == nil {
		t.Fatal("a call after Close succeeded")
	}
}

// TestSocketOfAnotherUserRefused: a socket file owned by someone else is
// neither removed nor reused.
func TestSocketOfAnotherUserRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root, as CI runs the suite")
		}
		t.Skip("needs root to make a file owned by another user")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, SocketName)
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err := Listen(dir, slog.Default())
	if err == nil || !strings.Contains(err.Error(), "belongs to uid 65534, not to this daemon's uid 0") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the other user's socket was removed: %v", err)
	}
}

// TestPublicSocketLimits: the public socket is open to every local user,
// so it takes short requests only and a bounded number of clients, per
// user and in all; the one past a limit is hung up on, not queued.
func TestPublicSocketLimits(t *testing.T) {
	dir := t.TempDir()
	s, err := ListenPublic(dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(func(err error) { t.Errorf("public socket died: %v", err) })
	defer s.Close()
	s.SetHandlers(map[string]Handler{"ping": func(context.Context, json.RawMessage) (any, error) { return "pong", nil }})
	if st, err := os.Stat(filepath.Join(dir, PublicSocketName)); err != nil || st.Mode().Perm() != 0o666 {
		t.Fatalf("public socket mode: %v %v", st.Mode(), err)
	}

	var held []*Client
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range publicMaxPerUser {
		c, err := DialPublic(dir)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		if err := c.Call("ping", nil, nil); err != nil { // served, so it is counted
			t.Fatal(err)
		}
	}
	extra, err := DialPublic(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := extra.Call("ping", nil, nil); err == nil {
		t.Fatalf("connection %d of one user was served", publicMaxPerUser+1)
	}
	extra.Close()
	held[0].Close()
	held = held[1:]
	var again *Client
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if again, err = DialPublic(dir); err == nil {
			if err = again.Call("ping", nil, nil); err == nil {
				break
			}
			again.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("no room after a client left: %v", err)
		}
	}
	held = append(held, again)

	// A request line longer than publicMaxLine ends the connection.
	if err := again.Call("ping", map[string]string{"pad": strings.Repeat("x", publicMaxLine)}, nil); err == nil {
		t.Fatal("an oversized request was answered")
	}
}

// TestPublicSocketTotalLimit: past publicMaxConns connections in all, from
// as many users, the next user is turned away too.
func TestPublicSocketTotalLimit(t *testing.T) {
	s, err := ListenPublic(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var first net.Conn
	for uid := range publicMaxConns {
		c, _ := net.Pipe()
		if !s.admit(c, Peer{UID: uid}) {
			t.Fatalf("user %d refused with %d connections open", uid, uid)
		}
		if uid == 0 {
			first = c
		}
	}
	c, _ := net.Pipe()
	if s.admit(c, Peer{UID: publicMaxConns}) {
		t.Fatalf("connection %d admitted", publicMaxConns+1)
	}
	s.release(first, Peer{UID: 0})
	if !s.admit(c, Peer{UID: publicMaxConns}) {
		t.Fatal("no room after a connection was released")
	}
}
