package jail

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"bartleby/internal/testutil"
)

// TestMain lets the test binary act as the confined runner, as bartleby's
// hidden `sftp rsync-exec` does.
func TestMain(m *testing.M) {
	if spec := os.Getenv("JAIL_TEST_CONFINED"); spec != "" {
		var s struct {
			Dir      string
			Writable bool
			Args     []string
		}
		json.Unmarshal([]byte(spec), &s)
		err := RunConfined(s.Dir, s.Writable, DefaultPerms.Umask, s.Args)
		fmt.Fprintln(os.Stderr, "RunConfined:", err)
		os.Exit(99)
	}
	os.Exit(m.Run())
}

// needConfinedRsync skips where the kernel cannot confine rsync (bartleby
// refuses rsync there, as TestRsyncSupport checks) and needs rsync.
func needConfinedRsync(t *testing.T) {
	t.Helper()
	if LandlockABI() < minLandlockABI {
		t.Skipf("kernel Landlock ABI %d < %d: rsync is refused here, which TestRsyncSupport checks", LandlockABI(), minLandlockABI)
	}
	testutil.Need(t, RsyncBinary)
}

func runConfined(t *testing.T, dir string, writable bool, args ...string) (string, error) {
	t.Helper()
	spec, _ := json.Marshal(map[string]any{"Dir": dir, "Writable": writable, "Args": append([]string{"rsync"}, args...)})
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "JAIL_TEST_CONFINED="+string(spec))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestLandlockConfinesRsync runs the real rsync under the runner's
// Landlock rules with no argument checks at all, as an attacker who got
// past them would: it must still neither read nor write outside the jail.
func TestLandlockConfinesRsync(t *testing.T) {
	needConfinedRsync(t)
	t.Parallel()
	base := t.TempDir()
	jailDir, outside := filepath.Join(base, "jail"), filepath.Join(base, "outside")
	for _, d := range []string{jailDir, outside} {
		os.Mkdir(d, 0o755)
	}
	os.WriteFile(filepath.Join(jailDir, "in.txt"), []byte("inside"), 0o644)
	os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("secret"), 0o644)
	os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(jailDir, "planted"))

	// Inside to inside works: the confinement lets rsync run.
	if out, err := runConfined(t, jailDir, true, "-a", "in.txt", "copy.txt"); err != nil {
		t.Fatalf("copy inside the jail failed: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(jailDir, "copy.txt")); string(b) != "inside" {
		t.Fatalf("copy.txt = %q", b)
	}
	for name, args := range map[string][]string{
		"read outside":          {filepath.Join(outside, "secret.txt"), "stolen.txt"},
		"follow a planted link": {"-L", "planted", "stolen2.txt"},
		"write outside":         {"in.txt", filepath.Join(outside, "dropped.txt")},
		"read /etc/shadow":      {"/etc/shadow", "shadow.txt"},
		"read /etc/passwd":      {"/etc/passwd", "passwd.txt"},
	} {
		out, err := runConfined(t, jailDir, true, args...)
		if err == nil {
			t.Errorf("%s: rsync succeeded:\n%s", name, out)
		}
		if !strings.Contains(out, "Permission denied") {
			t.Errorf("%s: want a permission error, got:\n%s", name, out)
		}
	}
	for _, f := range []string{"stolen.txt", "stolen2.txt", "shadow.txt", "passwd.txt"} {
		if _, err := os.Stat(filepath.Join(jailDir, f)); err == nil {
			t.Errorf("%s was written", f)
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "dropped.txt")); err == nil {
		t.Error("a file was written outside the jail")
	}
	// Read-only: nothing may be written even inside.
	if out, err := runConfined(t, jailDir, false, "in.txt", "ro.txt"); err == nil {
		t.Errorf("read-only runner wrote a file:\n%s", out)
	}
}

func TestRsyncSupport(t *testing.T) {
	err := RsyncSupport()
	if LandlockABI() < minLandlockABI {
		if err == nil || !strings.Contains(err.Error(), "Landlock") {
			t.Fatalf("no Landlock, but RsyncSupport = %v", err)
		}
		return
	}
	if _, statErr := os.Stat(RsyncBinary); statErr == nil && err != nil && !strings.Contains(err.Error(), "3.5.0") {
		t.Fatalf("RsyncSupport: %v", err)
	}
}

// TestConfinedRsyncHasNoPrivileges reads the running rsync's
// /proc/PID/status: every capability set empty and no_new_privs on, even
// when the tests (like a daemon started by hand) run as root; and no core
// dumps.
func TestConfinedRsyncHasNoPrivileges(t *testing.T) {
	needConfinedRsync(t)
	t.Parallel()
	dir := t.TempDir()
	spec, _ := json.Marshal(map[string]any{"Dir": dir, "Writable": true,
		"Args": []string{"rsync", "--server", "-re.iLsfxCIvu", ".", "x"}})
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "JAIL_TEST_CONFINED="+string(spec))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	// rsync's server writes its protocol version first: once it has, the
	// process is rsync itself, past exec.
	var version [4]byte
	if _, err := io.ReadFull(stdout, version[:]); err != nil {
		t.Fatalf("no protocol version from the confined rsync: %v\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	status := string(b)
	if limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", cmd.Process.Pid)); err != nil {
		t.Fatal(err)
	} else if !regexp.MustCompile(`Max core file size +0 +0 `).Match(limits) {
		t.Errorf("the confined rsync may dump core:\n%s", limits)
	}
	for _, want := range []string{"Name:\trsync", "NoNewPrivs:\t1",
		"CapInh:\t0000000000000000", "CapPrm:\t0000000000000000", "CapEff:\t0000000000000000",
		"CapBnd:\t0000000000000000", "CapAmb:\t0000000000000000"} {
		if !strings.Contains(status, want+"\n") {
			t.Errorf("status of the confined rsync lacks %q:\n%s", want, status)
		}
	}
}

// TestConfinedRsyncCannotSetCapabilities runs the confined rsync with -X
// and -o directly, as if the argument check had let them through: as root
// it still cannot give a file a capability or a foreign owner.
func TestConfinedRsyncCannotSetCapabilities(t *testing.T) {
	needConfinedRsync(t)
	setcap, getcap := testutil.Need(t, "setcap"), testutil.Need(t, "getcap")
	if os.Geteuid() != 0 {
		t.Skip("needs root to plant a file capability, as a root daemon would face")
	}
	t.Parallel()
	jailDir := t.TempDir()
	capFile := filepath.Join(jailDir, "capfile")
	os.WriteFile(capFile, []byte("#!/bin/sh\n"), 0o755)
	os.Chown(capFile, 1234, 1234)
	if out, err := exec.Command(setcap, "cap_setuid+ep", capFile).CombinedOutput(); err != nil {
		t.Fatalf("setcap: %v\n%s", err, out)
	}
	out, err := runConfined(t, jailDir, true, "-rlptXo", "--numeric-ids", "capfile", "copy")
	if err == nil {
		t.Errorf("rsync -X -o as root reported success:\n%s", out)
	}
	copied := filepath.Join(jailDir, "copy")
	if caps, _ := exec.Command(getcap, copied).CombinedOutput(); strings.Contains(string(caps), "cap_setuid") {
		t.Errorf("the copy carries a capability: %s", caps)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(copied, &st); err != nil {
		t.Fatalf("the copy was not made at all: %v\n%s", err, out)
	}
	if st.Uid == 1234 {
		t.Error("the copy got a foreign owner")
	}
}
