package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"bartleby/internal/testutil"
)

// TestReloadCommand: `bartleby reload` waits for the result. A broken file
// exits 1 with every problem (file:line) and leaves the daemon as it was;
// status shows that attempt, not only the last success.
func TestReloadCommand(t *testing.T) {
	addr := testutil.FreePort(t)
	good := fmt.Sprintf("[admin]\nlisten = %q\n", addr)
	d := testutil.StartDaemon(t, good)
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(d.Config, []byte("state_dir = \""+d.StateDir+"\"\n"+body), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	out, err := d.Run("reload")
	if err != nil || !strings.Contains(out, "reload applied") || !strings.Contains(out, "admin  reloaded in place") {
		t.Fatalf("reload of an unchanged file: %v\n%s", err, out)
	}

	write(good + "bogus = 1\n[web]\nnope = 2\n")
	out, err = d.Run("reload")
	if code := exitCode(err); code != 1 {
		t.Fatalf("broken reload exited %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{"the running config is unchanged", d.Config + ":4: admin.bogus", d.Config + ":6: web.nope"} {
		if !strings.Contains(out, want) {
			t.Errorf("reload output lacks %q:\n%s", want, out)
		}
	}
	out, err = d.Run("status")
	if err != nil || !strings.Contains(out, "last reload attempt") || !strings.Contains(out, "refused (2 problem(s))") ||
		!strings.Contains(out, "admin  ") {
		t.Fatalf("status after the broken reload: %v\n%s", err, out)
	}
	select {
	case <-d.Exited():
		t.Fatal("the daemon exited after a broken reload")
	default:
	}
}

// TestSIGUSR1ReopensAccessLog: after logrotate moves the file, SIGUSR1
// makes the web part write to a new one, without a reload.
func TestSIGUSR1ReopensAccessLog(t *testing.T) {
	web, webs := testutil.FreePort(t), testutil.FreePort(t)
	d := testutil.StartDaemon(t, fmt.Sprintf(`[web]
http = %q
https = %q
[[site]]
hosts = ["127.0.0.1"]
access_log = "{{dir}}/access.log"
  [[site.route]]
  root = "{{dir}}"
`, web, webs))
	logPath := filepath.Join(d.Dir, "access.log")
	get(t, "http://"+web+"/")
	waitFile(t, logPath)
	if err := os.Rename(logPath, logPath+".1"); err != nil {
		t.Fatal(err)
	}
	d.Signal(syscall.SIGUSR1)
	if !d.WaitLog("log files reopened", 10*time.Second) {
		t.Fatal("SIGUSR1 did not reopen the log")
	}
	get(t, "http://"+web+"/")
	waitFile(t, logPath)
	if strings.Contains(d.Logs(), "config reloaded") {
		t.Error("SIGUSR1 reloaded the config")
	}
}
