package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"bartleby/internal/testutil"
	"bartleby/internal/watch/watchtest"
)

// TestNagiosPluginErrorsAreUnknown: whatever goes wrong before a check can
// run, the plugins answer with one UNKNOWN line on stdout and exit 3, the
// only thing Nagios reads; never cobra's 1 or sysexits' 64.
func TestNagiosPluginErrorsAreUnknown(t *testing.T) {
	t.Parallel()
	bin := testutil.Binary(t)
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.feature")
	if err := os.WriteFile(broken, []byte("Feature: F\n Scenario: S\n  Given I dance\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badConfig := filepath.Join(dir, "bartleby.toml")
	if err := os.WriteFile(badConfig, []byte("[watch.clock]\nservers = 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		service string
		args    []string
	}{
		{"WATCH", []string{"watch", "run", "--nagios"}},
		{"WATCH", []string{"watch", "run", "--nagios", "--bogus", broken}},
		{"WATCH", []string{"watch", "run", "--timeout", "soon", "--nagios", broken}},
		{"WATCH", []string{"watch", "run", "--nagios", filepath.Join(dir, "missing.feature")}},
		{"WATCH", []string{"watch", "run", "--nagios", broken}},
		{"WATCH", []string{"watch", "run", "--nagios", "--json", broken}},
		{"WATCH", []string{"watch", "run", "--nagios", "--base", "ftp://example.org", dir}},
		{"CLOCK", []string{"clock", "check", "--nagios"}},
		{"CLOCK", []string{"clock", "check", "--nagios", "-c", badConfig}},
		{"CLOCK", []string{"clock", "check", "--nagios", "extra"}},
		{"CLOCK", []string{"clock", "check", "--nagios", "--warn", "x"}},
		{"CLOCK", []string{"clock", "check", "--nagios", "--server", "127.0.0.1:1", "--warn", "2s", "--crit", "1s"}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, bin, tc.args...)
		cmd.Env = append(os.Environ(), "BARTLEBY_CONFIG="+filepath.Join(dir, "none.toml"))
		out, err := cmd.Output()
		cancel()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 3 {
			t.Errorf("%v: %v, want exit 3\n%s", tc.args, err, out)
			continue
		}
		if l := watchtest.ParseNagios(t, string(out)); l.Service != tc.service || l.State != "UNKNOWN" || l.Text == "" {
			t.Errorf("%v: %q", tc.args, out)
		}
	}
}
