// Package control is the local socket through which the CLI talks to the
// running daemon: one JSON request per line, one JSON response per line.
//
// The socket lives in state_dir with mode 0660, owned by the daemon's user
// and group, so only root, that user and members of its group can use it;
// there is no other authentication.
//
// A second socket, public.sock (0666), answers every local user, as
// Postfix's showq and pickup do through postdrop: it carries only the
// read-only commands an ordinary user's mailq and sendmail need, with a
// small request size and few connections at once.
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

// PublicSocketName is the file name in state_dir of the socket every
// local user may use.
const PublicSocketName = "public.sock"

// socketMode lets root, the daemon's user and its group in.
const socketMode = 0o660

// publicMode lets every local user in: state_dir is 0711, so they reach it
// by name without listing the directory.
const publicMode = 0o666

// maxLine bounds one request or response line.
const maxLine = 1 << 20

// Limits of the public socket: its commands take no real arguments, and
// one local user must neither tie up the daemon's file descriptors nor
// crowd out the other users' mailq and sendmail.
const (
	publicMaxLine    = 4 << 10
	publicMaxConns   = 16
	publicMaxPerUser = 4
	publicIdle       = 10 * time.Second
)

// controlIdle is how long a control client may wait between requests.
const controlIdle = 5 * time.Minute

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

	maxLine  int
	idle     time.Duration
	maxConns int // connections served at once, 0 for no limit
	perUser  int // of them from one uid

	mu       sync.RWMutex
	handlers map[string]Handler
	conns    map[net.Conn]struct{} // open connections, hung up on by Close
	byUID    map[int]int           // open connections per peer uid
	closing  bool
	wg       sync.WaitGroup
}

// Listen creates the control socket in dir, replacing a stale one left by
// a crash but refusing to steal it from a daemon that still answers.
func Listen(dir string, log *slog.Logger) (*Server, error) {
	s, err := listen(filepath.Join(dir, SocketName), socketMode, log)
	if err != nil {
		return nil, err
	}
	s.maxLine, s.idle = maxLine, controlIdle
	return s, nil
}

// ListenPublic creates the public socket in dir; give it only commands
// every local user may run.
func ListenPublic(dir string, log *slog.Logger) (*Server, error) {
	s, err := listen(filepath.Join(dir, PublicSocketName), publicMode, log)
	if err != nil {
		return nil, err
	}
	s.maxLine, s.idle = publicMaxLine, publicIdle
	s.maxConns, s.perUser = publicMaxConns, publicMaxPerUser
	return s, nil
}

func listen(path string, mode os.FileMode, log *slog.Logger) (*Server, error) {
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
	ln, err := bindPrivately(path, mode)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return &Server{path: path, log: log, ln: ln, handlers: map[string]Handler{}, conns: map[net.Conn]struct{}{}, byUID: map[int]int{}}, nil
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
		ctx := context.Background()
		peer, known := peerOf(c)
		if known {
			ctx = context.WithValue(ctx, peerKey{}, peer)
		} else {
			peer.UID = -1 // counted together, never taken for root
		}
		if !s.admit(c, peer) {
			c.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(ctx, c)
			s.release(c, peer)
		}()
	}
}

// Close stops the listener and removes the socket, hangs up on idle
// clients and waits for running commands.
func (s *Server) Close() error {
	err := s.ln.Close()
	os.Remove(s.path)
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

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 0, 4096), s.maxLine)
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

// admit counts c in if the limits allow: a client beyond them is hung up
// on at once rather than queued.
func (s *Server) admit(c net.Conn, p Peer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.maxConns > 0 && (len(s.conns) >= s.maxConns || s.byUID[p.UID] >= s.perUser) {
		return false
	}
	s.conns[c] = struct{}{}
	s.byUID[p.UID]++
	return true
}

func (s *Server) release(c net.Conn, p Peer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if s.byUID[p.UID]--; s.byUID[p.UID] == 0 {
		delete(s.byUID, p.UID)
	}
}

// setIdleDeadline gives a client s.idle to send its next request,
// unless Close has begun: then the connection ends rather than push back
// the deadline Close set.
func (s *Server) setIdleDeadline(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	c.SetReadDeadline(time.Now().Add(s.idle))
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
		s.log.Info("control command failed", "event", "control.failed", "cmd", req.Cmd, "err", err)
		return Response{Error: err.Error()}
	}
	b, err := json.Marshal(res)
	if err != nil {
		return Response{Error: "encoding result: " + err.Error()}
	}
	return Response{Result: b}
}

// bindPrivately makes the socket at path with mode without a moment in
// which anyone else could connect: state_dir lets every user reach a name
// in it, and the mode a bind gives depends on the umask. The socket is
// bound in a private directory, opened to mode, then renamed into place.
func bindPrivately(path string, mode os.FileMode) (net.Listener, error) {
	tmp, err := os.MkdirTemp(filepath.Dir(path), ".bind-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bound := filepath.Join(tmp, "s")
	ln, err := net.Listen("unix", bound)
	if err != nil {
		return nil, err
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(bound, mode); err != nil {
		ln.Close()
		return nil, err
	}
	if err := os.Rename(bound, path); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
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
