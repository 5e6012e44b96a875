package mailtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bartleby/internal/testutil"
)

// Sink is Postfix's smtp-sink, standing in for a primary MX: it keeps
// every message it accepts as a file in Dir.
type Sink struct {
	Dir string
	cmd *exec.Cmd
}

// StartSink runs smtp-sink on addr until Stop or the end of the test.
func StartSink(t testing.TB, addr string) *Sink {
	t.Helper()
	// Not under t.TempDir(): smtp-sink runs as nobody, who must reach it.
	dir, err := os.MkdirTemp("", "smtp-sink")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	args := []string{"-d", filepath.Join(dir, "msg."), addr, "10"}
	if os.Getuid() == 0 {
		args = append([]string{"-u", "nobody"}, args...)
	}
	s := &Sink{Dir: dir, cmd: exec.Command(testutil.Need(t, "smtp-sink"), args...)}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("smtp-sink did not start")
	return nil
}

// Stop kills the sink: the primary is down.
func (s *Sink) Stop() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// Messages counts what the sink received.
func (s *Sink) Messages() int {
	files, _ := filepath.Glob(filepath.Join(s.Dir, "msg.*"))
	return len(files)
}

// Swaks runs swaks with args and returns its output.
func Swaks(t testing.TB, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, testutil.Need(t, "swaks"), append([]string{"--hide-informational", "--timeout", "30"}, args...)...).CombinedOutput()
	return string(out), err
}

// WaitQueue waits up to 30 s for `bartleby mail queue` to contain want,
// and returns that listing.
func WaitQueue(t testing.TB, d *testutil.Daemon, want string) string {
	t.Helper()
	var out string
	testutil.Eventually(t, 30*time.Second, fmt.Sprintf("%q in the mail queue", want), func() error {
		var err error
		out, err = d.Run("mail", "queue")
		if err == nil && !strings.Contains(out, want) {
			err = fmt.Errorf("mail queue:\n%s", out)
		}
		return err
	})
	return out
}

// WaitEmpty waits up to 30 s for the queue to empty.
func WaitEmpty(t testing.TB, d *testutil.Daemon) { t.Helper(); WaitQueue(t, d, "Mail queue is empty") }
