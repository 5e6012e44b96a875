package e2e

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"bartleby/internal/control"
	"bartleby/internal/testutil"
)

// TestLifecycle drives the real binary: status over the control socket, a
// reload that moves a listener, a broken reload that changes nothing, and a
// graceful stop.
func TestLifecycle(t *testing.T) {
	addr1, addr2 := testutil.FreePort(t), testutil.FreePort(t)
	d := testutil.StartDaemon(t, fmt.Sprintf("[admin]\nlisten = %q\n", addr1))

	out, err := d.Run("status")
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	if !strings.Contains(out, "admin") || !strings.Contains(out, addr1) {
		t.Fatalf("status does not show the admin part on %s:\n%s", addr1, out)
	}
	st, err := os.Stat(d.StateDir)
	if err != nil || st.Mode().Perm() != 0o711 {
		t.Fatalf("state_dir mode %v, %v; want 0711", st.Mode().Perm(), err)
	}

	// A valid change is applied.
	writeConfig(t, d, fmt.Sprintf("[admin]\nlisten = %q\n", addr2))
	d.Signal(syscall.SIGHUP)
	if !d.WaitLog("config reloaded", 20*time.Second) {
		t.Fatal("no reload logged")
	}
	if out, _ := d.Run("status"); !strings.Contains(out, addr2) || strings.Contains(out, addr1) {
		t.Fatalf("after reload status should show %s only:\n%s", addr2, out)
	}
	mustDial(t, addr2)
	if !strings.Contains(d.Logs(), "admin.listen changed from "+addr1+" to "+addr2) {
		t.Errorf("the admin UI's restart does not say why:\n%s", d.Logs())
	}

	// A broken file is refused and the running config stays.
	writeConfig(t, d, fmt.Sprintf("[admin]\nlisten = %q\nbogus = true\n", addr1))
	d.Signal(syscall.SIGHUP)
	if !d.WaitLog("reload refused", 20*time.Second) {
		t.Fatal("broken reload not refused")
	}
	if !strings.Contains(d.Logs(), "admin.bogus: unknown key") {
		t.Errorf("refusal does not say why:\n%s", d.Logs())
	}
	mustDial(t, addr2)

	writeConfig(t, d, fmt.Sprintf("[admin]\nlisten = %q\n", addr2)) // for the CLI below
	d.Signal(syscall.SIGTERM)
	select {
	case <-d.Exited():
	case <-time.After(40 * time.Second):
		t.Fatal("did not stop on SIGTERM")
	}
	if code := d.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	if _, err := os.Stat(filepath.Join(d.StateDir, control.SocketName)); !os.IsNotExist(err) {
		t.Errorf("control socket left behind: %v", err)
	}
	if out, err := d.Run("status"); err == nil || !strings.Contains(out, "bartleby is not running") {
		t.Errorf("status after stop: %v %s", err, out)
	}
}

// TestBindFailure: a listener that cannot bind fails start-up with a message
// naming the part and the address.
func TestBindFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "b.toml")
	text := fmt.Sprintf("state_dir = %q\n[admin]\nlisten = %q\n", filepath.Join(dir, "state"), ln.Addr())
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(testutil.Binary(t), "serve", "-c", cfg).CombinedOutput()
	if err == nil {
		t.Fatal("serve started on a taken port")
	}
	if !strings.Contains(string(out), "admin") || !strings.Contains(string(out), ln.Addr().String()) {
		t.Fatalf("error does not name the part and address:\n%s", out)
	}
}

// TestCheck: `bartleby check` exits 0 on a good file and 1 with every
// problem on a bad one, starting nothing.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(good, []byte("state_dir = \"s\"\n[admin]\nlisten = \"127.0.0.1:8025\"\n"), 0o600)
	os.WriteFile(bad, []byte("state_dir = \"s\"\n[admin]\nlisten = \"nope\"\nsession_ttl = \"soon\"\n"), 0o600)
	bin := testutil.Binary(t)
	out, err := exec.Command(bin, "check", "-c", good).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "good.toml: ok") {
		t.Fatalf("check good: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "check", "-c", bad).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("check bad: want exit 1, got %v\n%s", err, out)
	}
	for _, want := range []string{"bad.toml:3: admin.listen: ", "bad.toml:4: admin.session_ttl: "} {
		if !strings.Contains(string(out), want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "s")); !os.IsNotExist(err) {
		t.Error("check created state_dir")
	}

	// Files a part parses are checked too: a feature file with an unknown step.
	os.WriteFile(filepath.Join(dir, "a.feature"), []byte("Feature: f\n  Scenario: s\n    When I dance\n"), 0o600)
	feat := filepath.Join(dir, "feat.toml")
	os.WriteFile(feat, []byte("state_dir = \"s\"\n[watch]\nfeatures = \"a.feature\"\n"), 0o600)
	out, err = exec.Command(bin, "check", "-c", feat).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "a.feature:3: unknown step \"I dance\"") {
		t.Errorf("check of a bad feature file: %v\n%s", err, out)
	}
}

func writeConfig(t *testing.T, d *testutil.Daemon, text string) {
	t.Helper()
	text = fmt.Sprintf("state_dir = %q\n%s", d.StateDir, text)
	if err := os.WriteFile(d.Config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustDial(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("nothing listens on %s: %v", addr, err)
	}
	c.Close()
}

// TestAdminReloadKeepsLogin: a reload that keeps admin.listen keeps the
// admin UI's logins (checked with curl and its cookie jar), and one that
// removes the user logs them out.
func TestAdminReloadKeepsLogin(t *testing.T) {
	curlBin := testutil.Need(t, "curl")
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	addr := testutil.FreePort(t)
	admin := func(users string) string {
		return fmt.Sprintf("hostname = \"localhost\"\n[admin]\nlisten = %q\nusers = { %s }\n", addr, users)
	}
	d := testutil.StartDaemon(t, admin(fmt.Sprintf("ops = %q", hash)))
	base, jar := "https://"+addr, filepath.Join(d.Dir, "cookies")
	curl := func(args ...string) (string, string) {
		t.Helper()
		args = append([]string{"-k", "-sS", "--max-time", "20", "-b", jar, "-c", jar, "-w", "\n%{http_code}"}, args...)
		out, err := exec.Command(curlBin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %q: %v\n%s", args, err, out)
		}
		i := strings.LastIndexByte(string(out), '\n')
		return string(out[:i]), string(out[i+1:])
	}
	form, _ := curl(base + "/login")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(form)
	if m == nil {
		t.Fatalf("no CSRF token in the login form:\n%s", form)
	}
	login := url.Values{"csrf": {m[1]}, "user": {"ops"}, "password": {"s3cret pass"}}
	if _, code := curl("--data", login.Encode(), base+"/login"); code != "303" {
		t.Fatalf("login: %s, want 303", code)
	}
	loggedIn := func(when string) {
		t.Helper()
		if body, code := curl(base + "/"); code != "200" || !strings.Contains(body, "<span>ops</span>") {
			t.Fatalf("home page %s: %s\n%s", when, code, body)
		}
	}
	loggedIn("after login")

	// Same listen address, another user added and a shorter session_ttl.
	other, err := bcrypt.GenerateFromPassword([]byte("other pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	writeConfig(t, d, admin(fmt.Sprintf("ops = %q, dev = %q", hash, other))+"session_ttl = \"1h\"\n")
	d.Signal(syscall.SIGHUP)
	waitLogCount(t, d, "config reloaded", 1)
	loggedIn("after a reload")
	if strings.Contains(d.Logs(), "admin UI restarts") {
		t.Errorf("the admin UI restarted on a reload that kept its address:\n%s", d.Logs())
	}

	// ops is removed: the session ends.
	writeConfig(t, d, admin(fmt.Sprintf("dev = %q", other)))
	d.Signal(syscall.SIGHUP)
	waitLogCount(t, d, "config reloaded", 2)
	if _, code := curl(base + "/"); code != "303" {
		t.Fatalf("home page after ops was removed: %s, want 303 to the login form", code)
	}
}

// waitLogCount waits until the daemon logged s n times.
func waitLogCount(t *testing.T, d *testutil.Daemon, s string, n int) {
	t.Helper()
	testutil.Eventually(t, 20*time.Second, fmt.Sprintf("%q logged %d times", s, n), func() error {
		if got := strings.Count(d.Logs(), s); got < n {
			return fmt.Errorf("logged %d times:\n%s", got, d.Logs())
		}
		return nil
	})
}
