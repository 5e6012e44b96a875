package sshd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"bartleby/internal/jail"
)

// maxChannels bounds the sessions one connection has open at once
// (OpenSSH's MaxSessions): sftp and rsync clients open one, a shared
// ControlMaster connection one per command running over it.
const maxChannels = 10

// maxRefused bounds the requests and channels one connection may have
// refused before it is cut: each refusal is a log line, and a client
// looping on pty-req or tcpip-forward would otherwise fill the disk with
// them. OpenSSH clients send a handful (env for LANG and LC_*, an agent
// or X11 request when configured); keepalives are not counted.
const maxRefused = 64

// maxTxPacket lets clients that ask for large reads (sftp -B) get them;
// pkg/sftp caps replies at 32 KiB otherwise.
const maxTxPacket = 255 << 10

// handle runs one connection: handshake within the grace time, then its
// sessions until the client leaves or stays idle too long.
func (s *Server) handle(c net.Conn, g *generation) {
	addr := remoteAddr(c.RemoteAddr())
	c.SetDeadline(time.Now().Add(g.cfg.LoginGraceTime.Duration))
	ic := &idleConn{Conn: c, idle: g.cfg.IdleTimeout.Duration}
	ic.touch()
	sc, chans, reqs, err := ssh.NewServerConn(ic, g.sshCfg)
	g.startups.Give(addr)
	failed := s.takeFailed(c.RemoteAddr())
	if err != nil {
		s.log.Debug("handshake ended", "event", "ssh.handshake_failed", "addr", addr, "err", err)
		c.Close()
		if !failed {
			s.fail(addr, "ssh.no_login", "connection ended without logging in")
		}
		return
	}
	defer sc.Close()
	c.SetDeadline(time.Time{})
	go ic.watch(sc)

	name := sc.Permissions.Extensions[extUser]
	u := g.users[name]
	if u == nil || name != sc.User() {
		s.log.Error("login without a known identity; closing", "event", "ssh.identity_error", "addr", addr, "user", sc.User())
		return
	}
	if err := s.logIn(sc, name); err != nil {
		event := "ssh.login_refused_busy"
		if errors.Is(err, errUserRemoved) {
			event = "ssh.login_refused_removed"
		} else {
			s.metrics.refused.WithLabelValues("per_user").Inc()
		}
		s.log.Warn("login refused: "+err.Error(), "event", event, "addr", addr, "user", name)
		tellRefused(chans, reqs, err)
		return
	}
	defer s.logOut(sc)
	log := s.log.With("user", u.Name, "addr", addr.String())
	attrs := []any{"event", "ssh.login", "method", sc.Permissions.Extensions[extMethod], "client", string(sc.ClientVersion())}
	if k := sc.Permissions.Extensions[extKey]; k != "" {
		attrs = append(attrs, "key", k)
	}
	log.Info("login", attrs...)
	s.metrics.active.Inc()
	defer s.metrics.active.Dec()
	refusals := &refusals{sc: sc, log: log}
	go refusals.rejectGlobal(reqs)

	j, err := jail.Open(u.Name, u.mounts, u.perms, s.log.With("addr", addr.String()))
	if err != nil {
		log.Error("cannot open the user's jail", "event", "ssh.jail_error", "err", err)
		return
	}
	defer j.Close()

	var wg sync.WaitGroup
	var open atomic.Int32
	for nc := range chans {
		if nc.ChannelType() != "session" {
			s.metrics.sessions.WithLabelValues(metricKind(nc.ChannelType()), "refused").Inc()
			if refusals.count() {
				log.Warn("channel refused", "event", "ssh.channel_refused", "type", truncate(nc.ChannelType(), 64))
			}
			nc.Reject(ssh.Prohibited, "only sftp and rsync sessions are allowed here")
			continue
		}
		if open.Load() >= maxChannels {
			refusals.count()
			nc.Reject(ssh.ResourceShortage, "too many sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		open.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer ch.Close()   // last: the client sees the close once
			defer open.Add(-1) // the session no longer counts
			s.session(ch, creqs, u, j, log, refusals)
		}()
	}
	wg.Wait()
	log.Info("logout", "event", "ssh.logout")
}

// tellRefused answers the first channel a refused login opens with the
// reason, which the OpenSSH client prints, and then ends the connection.
func tellRefused(chans <-chan ssh.NewChannel, reqs <-chan *ssh.Request, why error) {
	go ssh.DiscardRequests(reqs)
	if nc, ok := <-chans; ok {
		nc.Reject(ssh.ResourceShortage, why.Error())
	}
}

// refusals counts what one connection had refused (maxRefused).
type refusals struct {
	sc  *ssh.ServerConn
	log *slog.Logger
	n   atomic.Int32
}

// count counts one refusal and reports whether it may still be logged;
// past maxRefused it logs once and cuts the connection.
func (r *refusals) count() bool {
	n := r.n.Add(1)
	if n == maxRefused+1 {
		r.log.Warn("too many refused requests; closing the connection", "event", "ssh.refused_flood", "refused", maxRefused)
		r.sc.Close()
	}
	return n <= maxRefused
}

// rejectGlobal refuses every global request: tcpip-forward (ssh -R) and
// the like.
func (r *refusals) rejectGlobal(reqs <-chan *ssh.Request) {
	for req := range reqs {
		if req.WantReply {
			req.Reply(false, nil)
		}
		if req.Type != "keepalive@openssh.com" && r.count() {
			r.log.Warn("global request refused", "event", "ssh.global_refused", "type", truncate(req.Type, 64))
		}
	}
}

// session answers a session's requests: one sftp subsystem or one rsync
// exec; everything else (shell, pty, env, x11, agent, other commands) is
// refused.
func (s *Server) session(ch ssh.Channel, reqs <-chan *ssh.Request, u *user, j *jail.Jail, log *slog.Logger, refused *refusals) {
	started := false
	for r := range reqs {
		if started {
			// Signals, window changes, keepalives to a running session:
			// refused without a log line, but a flood still counts.
			if r.Type != "keepalive@openssh.com" {
				refused.count()
			}
			r.Reply(false, nil)
			continue
		}
		switch {
		case r.Type == "subsystem" && payloadString(r.Payload) == "sftp":
			r.Reply(true, nil)
			started = true
			s.metrics.sessions.WithLabelValues("sftp", "ok").Inc()
			go func() { s.serveSFTP(ch, j, log); ch.Close() }()
		case r.Type == "exec":
			cmd := payloadString(r.Payload)
			run, err := s.checkExec(cmd, u, j)
			if err != nil {
				s.metrics.sessions.WithLabelValues("exec", "refused").Inc()
				refused.count()
				log.Warn("exec refused", "event", "ssh.exec_refused", "command", truncate(cmd, 200), "err", err)
				r.Reply(true, nil) // so the client sees the reason and status
				fmt.Fprintf(ch.Stderr(), "bartleby: %v\r\n", err)
				exitStatus(ch, 1)
				return
			}
			r.Reply(true, nil)
			started = true
			s.metrics.sessions.WithLabelValues("rsync", "ok").Inc()
			go func() { s.runRsync(ch, run, log); ch.Close() }()
		default:
			s.metrics.sessions.WithLabelValues(metricKind(r.Type), "refused").Inc()
			// OpenSSH sends env (SendEnv LANG LC_*) and keepalives on every
			// session: refusing them is routine, not a warning.
			level := slog.LevelWarn
			if r.Type == "env" || r.Type == "keepalive@openssh.com" {
				level = slog.LevelDebug
			}
			if r.Type == "keepalive@openssh.com" || refused.count() {
				log.Log(context.Background(), level, "session request refused", "event", "ssh.request_refused", "type", truncate(r.Type, 64))
			}
			if r.WantReply {
				r.Reply(false, nil)
			}
			if r.Type == "shell" {
				fmt.Fprintf(ch.Stderr(), "bartleby: no shell here; use sftp or rsync\r\n")
				exitStatus(ch, 1)
				return
			}
		}
	}
}

func (s *Server) serveSFTP(ch ssh.Channel, j *jail.Jail, log *slog.Logger) {
	srv := sftp.NewRequestServer(ch, j.Handlers(), sftp.WithRSMaxTxPacket(maxTxPacket), sftp.WithStartDirectory("/"), sftp.WithRSAllocator())
	if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
		log.Debug("sftp session ended", "event", "ssh.sftp_end", "err", err)
	}
	srv.Close()
}

// checkExec allows only `rsync --server …`, for users with rsync = true,
// where rsync can be confined.
func (s *Server) checkExec(cmd string, u *user, j *jail.Jail) (*jail.RsyncPlan, error) {
	if !strings.HasPrefix(cmd, "rsync ") {
		return nil, errors.New("no commands here; use sftp, or rsync for users allowed it")
	}
	if !u.Rsync {
		return nil, errors.New("rsync is not enabled for this user")
	}
	if s.rsyncErr != nil {
		return nil, s.rsyncErr
	}
	return j.CheckRsync(cmd, jail.RsyncOptions{ReadOnly: u.ReadOnly, Owner: u.RsyncOwner})
}

// runRsync runs the confined rsync with the channel as its stdin and
// stdout, its stderr to the client's stderr, and sends its exit status.
func (s *Server) runRsync(ch ssh.Channel, plan *jail.RsyncPlan, log *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd, err := plan.Command(ctx)
	if err != nil {
		log.Error("rsync", "event", "ssh.rsync_error", "err", err)
		exitStatus(ch, 1)
		return
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		exitStatus(ch, 1)
		return
	}
	cmd.Stdout = ch
	cmd.Stderr = ch.Stderr()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		log.Error("rsync start", "event", "ssh.rsync_error", "err", err)
		exitStatus(ch, 1)
		return
	}
	log.Info("rsync", "event", "ssh.rsync_start", "op", map[bool]string{true: "pull", false: "push"}[plan.Sender], "dir", plan.Dir, "args", strings.Join(plan.Args[1:], " "))
	go func() {
		io.Copy(stdin, ch)
		stdin.Close()
	}()
	err = cmd.Wait()
	code := 0
	if err != nil {
		code = 1
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() >= 0 {
			code = ee.ExitCode()
		}
	}
	log.Info("rsync done", "event", "ssh.rsync_end", "exit", code, "seconds", time.Since(start).Round(time.Millisecond).Seconds())
	ch.CloseWrite()
	exitStatus(ch, code)
}

func exitStatus(ch ssh.Channel, code int) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(code))
	ch.SendRequest("exit-status", false, b[:])
}

// payloadString decodes the one SSH string in a subsystem or exec request.
func payloadString(p []byte) string {
	if len(p) < 4 {
		return ""
	}
	n := binary.BigEndian.Uint32(p)
	if uint64(n) != uint64(len(p)-4) {
		return ""
	}
	return string(p[4:])
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// idleConn closes a connection that has seen no traffic for idle.
type idleConn struct {
	net.Conn
	idle time.Duration
	last atomic.Int64 // unix nanoseconds of the last read or write
}

func (c *idleConn) touch() { c.last.Store(time.Now().UnixNano()) }

func (c *idleConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.touch()
	return n, err
}

func (c *idleConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.touch()
	return n, err
}

// watch closes sc once the connection has been idle too long.
func (c *idleConn) watch(sc *ssh.ServerConn) {
	t := time.NewTicker(min(c.idle/4+time.Second, time.Minute))
	defer t.Stop()
	done := make(chan struct{})
	go func() { sc.Wait(); close(done) }()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			if time.Since(time.Unix(0, c.last.Load())) > c.idle {
				sc.Close()
				return
			}
		}
	}
}
