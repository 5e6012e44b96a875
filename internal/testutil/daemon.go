package testutil

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"bartleby/internal/control"
)

// Daemon is a bartleby started by a test.
type Daemon struct {
	t        testing.TB
	Cmd      *exec.Cmd
	Dir      string // temporary directory holding config and state
	Config   string // config file path
	StateDir string
	logs     *SyncBuffer
	done     chan struct{}
	args     []string // extra serve flags
}

// StartDaemon writes config (TOML; "{{dir}}" is replaced by the test's
// temporary directory) and runs `bartleby serve` on it until the control
// socket answers. The daemon is stopped when the test ends; its log is
// printed if the test failed.
func StartDaemon(t testing.TB, config string) *Daemon {
	t.Helper()
	return startDaemon(t, config, 0o600)
}

// StartDaemonAs starts bartleby as root with `serve --user user`: the
// temporary directory and the config are readable by that user, who
// re-reads the config on reload.
func StartDaemonAs(t testing.TB, user, config string) *Daemon {
	t.Helper()
	NeedRoot(t)
	return startDaemon(t, config, 0o644, "--user", user)
}

func startDaemon(t testing.TB, config string, mode os.FileMode, args ...string) *Daemon {
	t.Helper()
	dir := t.TempDir()
	if mode&0o044 != 0 {
		// t.TempDir's parent is 0700.
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	d := &Daemon{t: t, Dir: dir, Config: filepath.Join(dir, "bartleby.toml"),
		StateDir: filepath.Join(dir, "state"), logs: &SyncBuffer{}, done: make(chan struct{}), args: args}
	config = strings.ReplaceAll(config, "{{dir}}", dir)
	if !strings.Contains(config, "state_dir") {
		config = "state_dir = \"" + d.StateDir + "\"\n" + config
	}
	if err := os.WriteFile(d.Config, []byte(config), mode); err != nil {
		t.Fatal(err)
	}
	d.launch()
	t.Cleanup(func() {
		d.Stop()
		if t.Failed() {
			t.Logf("bartleby log:\n%s", d.Logs())
		}
	})
	d.WaitReady()
	return d
}

// launch starts `bartleby serve` on the config.
func (d *Daemon) launch() {
	d.t.Helper()
	args := append([]string{"serve", "-c", d.Config, "--log-format", "json", "--log-level", "debug"}, d.args...)
	d.Cmd = exec.Command(Binary(d.t), args...)
	d.Cmd.Stdout = d.logs
	d.Cmd.Stderr = d.logs
	if err := d.Cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	cmd, done := d.Cmd, d.done
	go func() { cmd.Wait(); close(done) }()
}

// Restart stops the daemon and starts it again on the same config and
// state, for tests of what must survive a restart.
func (d *Daemon) Restart() {
	d.t.Helper()
	d.Stop()
	d.done = make(chan struct{})
	d.launch()
	d.WaitReady()
}

// WaitReady waits until the control socket answers status.
func (d *Daemon) WaitReady() {
	d.t.Helper()
	Eventually(d.t, 20*time.Second, "bartleby to answer status", func() error {
		select {
		case <-d.done:
			d.t.Fatalf("bartleby exited during start-up:\n%s", d.Logs())
		default:
		}
		return StatusAnswers(d.StateDir)
	})
}

// StatusAnswers asks the daemon whose state directory is stateDir for its
// status over the control socket: nil once it is up.
func StatusAnswers(stateDir string) error {
	c, err := control.Dial(stateDir)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Call("status", nil, nil)
}

// Run runs a bartleby CLI command against this daemon's config and returns
// its combined output and error.
func (d *Daemon) Run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary(d.t), append(args, "-c", d.Config)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Signal sends sig to the daemon.
func (d *Daemon) Signal(sig syscall.Signal) {
	d.t.Helper()
	if err := d.Cmd.Process.Signal(sig); err != nil {
		d.t.Fatal(err)
	}
}

// Stop sends SIGTERM and waits (at most 40s) for the exit.
func (d *Daemon) Stop() {
	select {
	case <-d.done:
		return
	default:
	}
	d.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(40 * time.Second):
		d.Cmd.Process.Kill()
		<-d.done
	}
}

// Exited returns a channel closed when the process has exited.
func (d *Daemon) Exited() <-chan struct{} { return d.done }

// Logs returns everything the daemon logged so far.
func (d *Daemon) Logs() string { return d.logs.String() }

// WaitLog waits up to timeout for a log line containing s.
func (d *Daemon) WaitLog(s string, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); ; time.Sleep(pollEvery) {
		if strings.Contains(d.Logs(), s) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// LogLines returns the log split into lines.
func (d *Daemon) LogLines() []string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(d.Logs()))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers, for logs.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var _ io.Writer = (*SyncBuffer)(nil)
