package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/ntp"

	"bartleby/internal/testutil"
	"bartleby/internal/watch/scenario"
	"bartleby/internal/watch/watchtest"
)

// runBinary runs `bartleby args…` and returns stdout and the exit code.
func runBinary(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testutil.Binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%v: %v", args, err)
	}
	if errb.Len() > 0 {
		t.Logf("stderr of %v: %s", args, errb.String())
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

func TestBinaryWatchRun(t *testing.T) {
	t.Parallel()
	site := watchtest.NewSite(t)
	good := watchtest.WriteFeature(t, `Feature: Site
  Scenario: Login
    Given I go to /login
    When I fill in "Username" with "alice"
    And I fill in "Password" with "secret"
    And I select "French" from "Language"
    And I check "Remember me"
    And I press "Log in"
    Then I should see "Hello alice"
`)
	bad := watchtest.WriteFeature(t, "Feature: Site\n Scenario: Home\n  Given I go to /\n  Then I should see \"Goodbye\"\n")
	base := []string{"--base", site.Plain.URL, "-c", "/nonexistent/bartleby.toml"}

	out, code := runBinary(t, nil, append([]string{"watch", "run", good, "--nagios"}, base...)...)
	l := watchtest.ParseNagios(t, out)
	// Two request steps (go, press) and the total: the fill-ins and the
	// check of the page add no perfdata.
	if code != 0 || l.State != "OK" || len(l.Perf) != 3 || !strings.HasSuffix(l.Perf[1].Label, "_login.i_press_log_in") {
		t.Fatalf("good: exit %d %q", code, out)
	}
	out, code = runBinary(t, nil, append([]string{"watch", "run", good, "--nagios", "--warn", "1ns"}, base...)...)
	if l := watchtest.ParseNagios(t, out); code != 1 || l.State != "WARNING" {
		t.Fatalf("--warn 1ns: exit %d %q", code, out)
	}
	out, code = runBinary(t, nil, append([]string{"watch", "run", bad, "--nagios"}, base...)...)
	if l := watchtest.ParseNagios(t, out); code != 2 || l.State != "CRITICAL" || !strings.Contains(l.Text, `"Goodbye" not found`) {
		t.Fatalf("bad: exit %d %q", code, out)
	}
	out, code = runBinary(t, nil, append([]string{"watch", "run", "/nonexistent.feature", "--nagios"}, base...)...)
	if l := watchtest.ParseNagios(t, out); code != 3 || l.State != "UNKNOWN" {
		t.Fatalf("missing: exit %d %q", code, out)
	}
	// Over HTTPS with a certificate the system does not trust.
	out, code = runBinary(t, nil, "watch", "run", good, "--nagios", "--base", site.TLS.URL, "-c", "/nonexistent")
	if l := watchtest.ParseNagios(t, out); code != 2 || !strings.Contains(l.Text, "TLS: certificate signed by an unknown authority") {
		t.Fatalf("bad TLS: exit %d %q", code, out)
	}

	// The same, trusting the site's CA with --ca.
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: site.TLS.Certificate().Raw}), 0o600)
	out, code = runBinary(t, nil, "watch", "run", good, "--nagios", "--base", site.TLS.URL, "--ca", caFile, "-c", "/nonexistent")
	if l := watchtest.ParseNagios(t, out); code != 0 || l.State != "OK" {
		t.Fatalf("--ca: exit %d %q", code, out)
	}

	out, code = runBinary(t, nil, append([]string{"watch", "run", bad}, base...)...)
	if code != 2 || !strings.Contains(out, "✓ Given I go to /") || !strings.Contains(out, "✗ Then I should see \"Goodbye\"") ||
		!strings.Contains(out, "Welcome to the test site Contact") {
		t.Fatalf("readable: exit %d\n%s", code, out)
	}
	out, code = runBinary(t, nil, append([]string{"watch", "run", good, "--json"}, base...)...)
	var js struct {
		Status  string
		Results []scenario.Result
	}
	if err := json.Unmarshal([]byte(out), &js); err != nil || code != 0 || js.Status != "OK" || len(js.Results[0].Steps) != 7 {
		t.Fatalf("json: exit %d %v\n%s", code, err, out)
	}
	out, code = runBinary(t, []string{"COLLECTD_HOSTNAME=mon-1", "COLLECTD_INTERVAL=20"}, append([]string{"watch", "run", good, "--collectd", "--once"}, base...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 8 {
		t.Fatalf("collectd: exit %d\n%s", code, out)
	}
	for _, line := range lines {
		m := watchtest.PutvalRe.FindStringSubmatch(line)
		if m == nil || m[1] != "mon-1" || m[6] != "20" {
			t.Fatalf("collectd line %q", line)
		}
	}
}

// TestBinaryCollectdLoop runs `watch run --collectd` as collectd's exec
// plugin does: long-lived, reporting every COLLECTD_INTERVAL.
func TestBinaryCollectdLoop(t *testing.T) {
	t.Parallel()
	site := watchtest.NewSite(t)
	feature := watchtest.WriteFeature(t, "Feature: Loop\n Scenario: Home\n  Given I go to /\n")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testutil.Binary(t), "watch", "run", feature, "--collectd", "--base", site.Plain.URL, "-c", "/nonexistent")
	cmd.Env = append(os.Environ(), "COLLECTD_HOSTNAME=mon-1", "COLLECTD_INTERVAL=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sc := bufio.NewScanner(out)
	for i := range 4 { // two rounds of one step and one total
		if !sc.Scan() {
			t.Fatalf("output ended after %d lines: %v", i, sc.Err())
		}
		if m := watchtest.PutvalRe.FindStringSubmatch(sc.Text()); m == nil || m[6] != "1" {
			t.Fatalf("line %q", sc.Text())
		}
	}
}

// TestDaemonWatch runs the daemon with scenarios and an NTP responder,
// queries the responder, and finds the history in state_dir after a stop.
func TestDaemonWatch(t *testing.T) {
	t.Parallel()
	site := watchtest.NewSite(t)
	dir := t.TempDir()
	feature := filepath.Join(dir, "home.feature")
	os.WriteFile(feature, []byte("Feature: Home\n Scenario: Home\n  Given I go to /\n  Then I should see \"Welcome\"\n"), 0o600)
	udp := freeUDP(t)
	d := testutil.StartDaemon(t, fmt.Sprintf(`
[watch]
features = %q
base = %q
every = "10s"
  [watch.ntp_server]
  listen = [%q]
`, feature, site.Plain.URL, udp))
	out, err := d.Run("status")
	if err != nil || !strings.Contains(out, "udp/"+udp) {
		t.Fatalf("status: %v\n%s", err, out)
	}
	r, err := ntp.QueryWithOptions(udp, ntp.QueryOptions{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Synchronised or not depends on this host's kernel; either way the
	// answer is consistent.
	if r.Stratum == 16 && r.Leap != ntp.LeapNotInSync || r.Stratum != 16 && (r.Stratum != 3 || r.Validate() != nil) {
		t.Fatalf("NTP answer: stratum %d leap %d", r.Stratum, r.Leap)
	}
	if !d.WaitLog(`"msg":"bartleby started"`, 10*time.Second) {
		t.Fatal("no start log")
	}
	// The first scenario runs at once: `watch status` shows it passed.
	testutil.Eventually(t, 20*time.Second, "watch status to show the scenario passed", func() error {
		out, err := d.Run("watch", "status")
		if err == nil && !strings.Contains(out, "Home / Home  passed") {
			err = fmt.Errorf("watch status:\n%s", out)
		}
		return err
	})
	hist := filepath.Join(d.StateDir, "watch", "history.json")
	d.Stop()
	data, err := os.ReadFile(hist)
	if err != nil || !strings.Contains(string(data), `"home.feature:Home"`) || !strings.Contains(string(data), `"ok":true`) {
		t.Fatalf("history: %v\n%s", err, data)
	}
}

func freeUDP(t *testing.T) string {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}
