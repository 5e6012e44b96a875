package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"bartleby/internal/testutil"
)

// TestNewaliases: newaliases (and sendmail -bi) checks the aliases file
// and has the running daemon re-read it at once.
func TestNewaliases(t *testing.T) {
	dir := t.TempDir()
	aliasFile := filepath.Join(dir, "aliases")
	if err := os.WriteFile(aliasFile, []byte("postmaster: root\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := testutil.StartDaemon(t, fmt.Sprintf("[mail]\nqualify_domain = \"example.org\"\nsubmit = [%q]\naliases = %q\n[mail.smarthost]\nhost = \"127.0.0.1:9\"\n",
		testutil.FreePort(t), aliasFile))
	link := filepath.Join(dir, "newaliases")
	if err := os.Symlink(testutil.Binary(t), link); err != nil {
		t.Fatal(err)
	}
	run := func(bin string, args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "BARTLEBY_CONFIG="+d.Config)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	if err := os.WriteFile(aliasFile, []byte("postmaster: root\nabuse: root, ops@example.net\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(link)
	if err != nil || !strings.Contains(out, "2 aliases, re-read by the running daemon") {
		t.Fatalf("newaliases: %v\n%s", err, out)
	}

	if err := os.WriteFile(aliasFile, []byte("postmaster: root\nweb: |/usr/bin/procmail\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = run(testutil.Binary(t), "sendmail", "-bi")
	if err == nil || !strings.Contains(out, aliasFile+":2:") {
		t.Fatalf("sendmail -bi with a pipe alias: %v, want an error at %s:2\n%s", err, aliasFile, out)
	}
}
