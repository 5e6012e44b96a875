package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bartleby/internal/testutil"
)

// TestMailqForCheckMailq: monitoring-plugins' check_mailq reads
// bartleby's mailq in its postfix mode, empty and with deferred mail, with
// its thresholds, and its sendmail mode does not call a full queue empty.
func TestMailqForCheckMailq(t *testing.T) {
	t.Parallel()
	r := newRelay(t)
	// The smarthost is down: every message stays deferred.
	r.config = strings.Replace(r.config, r.peer.Addr, testutil.FreePort(t), 1)
	if err := os.WriteFile(r.conf, []byte(r.config), 0o600); err != nil {
		t.Fatal(err)
	}
	d := r.start(t)
	mailq := checkMailq(t, d.Config)

	if out, code := mailq("-M", "postfix", "-w", "2", "-c", "4"); code != 0 || !strings.Contains(out, "OK: postfix mailq reports queue is empty") {
		t.Fatalf("empty queue: exit %d %s", code, out)
	}
	for _, to := range []string{"a@example.net", "b@example.net", "c@example.org"} {
		if out, err := r.sendmail(t, "Subject: stuck\r\n\r\nhello\r\n", "-i", to); err != nil {
			t.Fatalf("sendmail: %v\n%s", err, out)
		}
	}
	testutil.Eventually(t, 30*time.Second, "three deferred messages", func() error {
		out, err := d.Run("mail", "queue")
		if err == nil && strings.Count(out, "deferred") != 3 {
			err = fmt.Errorf("mail queue:\n%s", out)
		}
		return err
	})
	list, _ := runMailq(t, d.Config)
	if !strings.HasSuffix(list, " Kbytes in 3 Requests.\n") || !strings.Contains(list, "(cannot connect to smarthost") || strings.Count(list, "@example.") != 6 {
		t.Errorf("mailq:\n%s", list)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-M", "postfix", "-w", "5", "-c", "10"}, 0, "OK: postfix mailq (3) is below threshold (5/10)"},
		{[]string{"-M", "postfix", "-w", "2", "-c", "4"}, 1, "WARNING: postfix mailq is 3 (threshold w = 2)"},
		{[]string{"-M", "postfix", "-w", "1", "-c", "3"}, 2, "CRITICAL: postfix mailq is 3 (threshold c = 3)"},
		{[]string{"-M", "sendmail", "-w", "2", "-c", "4"}, 1, "WARNING: sendmail mailq is 3 (threshold w = 2)"},
	} {
		if out, code := mailq(tc.args...); code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("check_mailq %v: exit %d %q, want %d %q\nmailq was:\n%s", tc.args, code, out, tc.code, tc.want, list)
		}
	}
}

// checkMailq returns a runner of check_mailq against bartleby's mailq: the
// plugin takes mailq's path from the utils.pm beside it, so both are
// copied, that path pointing at a mailq symlink to the binary.
func checkMailq(t *testing.T, conf string) func(args ...string) (string, int) {
	t.Helper()
	plugin := testutil.Need(t, "check_mailq")
	dir := t.TempDir()
	mailq := filepath.Join(dir, "mailq")
	if err := os.Symlink(testutil.Binary(t), mailq); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(plugin)
	if err != nil {
		t.Fatal(err)
	}
	utils, err := os.ReadFile(filepath.Join(filepath.Dir(plugin), "utils.pm"))
	if err != nil {
		t.Fatal(err)
	}
	patched := strings.Replace(string(utils), `"/usr/bin/mailq"`, `"`+mailq+`"`, 1)
	if patched == string(utils) {
		t.Fatal("utils.pm names no /usr/bin/mailq")
	}
	os.WriteFile(filepath.Join(dir, "check_mailq"), src, 0o755)
	os.WriteFile(filepath.Join(dir, "utils.pm"), []byte(patched), 0o644)
	return func(args ...string) (string, int) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(dir, "check_mailq"), args...)
		cmd.Env = append(os.Environ(), "BARTLEBY_CONFIG="+conf)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
}

// runMailq runs the binary as mailq on conf.
func runMailq(t *testing.T, conf string) (string, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mailq")
	if err := os.Symlink(testutil.Binary(t), p); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p)
	cmd.Env = append(os.Environ(), "BARTLEBY_CONFIG="+conf)
	out, err := cmd.Output()
	return string(out), err
}
