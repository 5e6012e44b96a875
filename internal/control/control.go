// Package control is the local socket through which the CLI talks to the
// running daemon: one JSON request per line, one JSON response per line.
//
// The socket lives in state_dir with mode 0660, owned by the daemon's user
// and group, so only root, that user and members of its group can use it;
// there is no other authentication.
package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"bartleby/internal/accept"
)

// SocketName is the control socket's file name in state_dir.
const SocketName = "control.sock"

// socketMode lets root, the daemon's user and its group in.
const socketMode = 0o660

// maxLine bounds one request or response line.
const maxLine = 1 << 20

// Request is one command from the CLI.
type Request struct {
	Cmd  string          `json:"cmd"`
	Args json.RawMessage `json:"args,omitempty"`
}

// Response is the daemon's answer: Error is set, or Result is.
type Response struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// Handler answers one command. args is the request's raw JSON arguments;
// the returned value is marshalled as the result.
type Handler func(ctx context.Context, args json.RawMessage) (any, error)

// Server serves the control socket.
type Server struct {
	path string
	log  *slog.Logger
	ln   net.Listener

	mu       sync.RWMutex
	handlers map[string]Handler
	conns    map[net.Conn]struct{} // open connections, hung up on by Close
	closing  bool
	wg       sync.WaitGroup
}

// Listen creates the socket in dir, replacing a stale one left by a crash
// but refusing to steal it from a daemon that still answers.
func Listen(dir string, log *slog.Logger) (*Server, error) {
	path := filepath.Join(dir, SocketName)
	if err := checkOwner(path); err != nil {
		return nil, err
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another bartleby is running with this state_dir", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	// state_dir is 0710 at most, so nobody outside the group can reach the
	// socket before the chmod below.
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, socketMode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return &Server{path: path, log: log, ln: ln, handlers: map[string]Handler{}, conns: map[net.Conn]struct{}{}}, nil
}

// Path is the socket's file name.
func (s *Server) Path() string { return s.path }

// SetHandlers replaces the command table; used at start and on reload.
func (s *Server) SetHandlers(h map[string]Handler) {
	s.mu.Lock()
	s.handlers = h
	s.mu.Unlock()
}

// Commands lists the known commands, for error messages.
func (s *Server) Commands() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.handlers))
	for n := range s.handlers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Serve accepts connections until Close, through transient errors such as
// running out of file descriptors; died is told if the socket fails for good.
func (s *Server) Serve(died func(error)) {
	ln := accept.Retry(s.ln, s.log, died)
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Close stops the listener and removes the socket, hangs up on idle
// clients and waits for running commands.
func (s *Server) Close() error {
	err := s.ln.Close() // the unix listener unlinks the socket file
	s.mu.Lock()
	s.closing = true
	for c := range s.conns {
		// Unblocks a connection waiting for its next request; one in the
		// middle of a command finishes it and then fails to write.
		c.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	ctx := withPeer(context.Background(), c)
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	enc := json.NewEncoder(c)
	for {
		if !s.setIdleDeadline(c) {
			return
		}
		if !sc.Scan() {
			return
		}
		c.SetWriteDeadline(time.Now().Add(time.Minute))
		if err := enc.Encode(s.answer(ctx, sc.Bytes())); err != nil {
			return
		}
	}
}

// setIdleDeadline gives a client five minutes to send its next request,
// unless Close has begun: then the connection ends rather than push back
// the deadline Close set.
func (s *Server) setIdleDeadline(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Minute))
	return true
}

func (s *Server) answer(ctx context.Context, line []byte) Response {
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		return Response{Error: "bad request: " + err.Error()}
	}
	s.mu.RLock()
	h := s.handlers[req.Cmd]
	s.mu.RUnlock()
	if h == nil {
		return Response{Error: fmt.Sprintf("unknown command %q (known: %s)", req.Cmd, strings.Join(s.Commands(), ", "))}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	res, err := h(ctx, req.Args)
	if err != nil {
		s.log.Info("control command failed", "cmd", req.Cmd, "err", err)
		return Response{Error: err.Error()}
	}
	b, err := json.Marshal(res)
	if err != nil {
		return Response{Error: "encoding result: " + err.Error()}
	}
	return Response{Result: b}
}

// checkOwner refuses a socket file left by another user: removing it would
// hijack that user's daemon, or this state_dir is shared by mistake.
func checkOwner(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket %s: %w", path, err)
	}
	if owner := int(st.Sys().(*syscall.Stat_t).Uid); owner != os.Geteuid() {
		return fmt.Errorf("control socket %s belongs to uid %d, not to this daemon's uid %d: another user's bartleby uses this state_dir; stop it or remove the socket", path, owner, os.Geteuid())
	}
	return nil
}
