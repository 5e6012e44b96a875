package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"bartleby/internal/privdrop"
	"bartleby/internal/testutil"
)

// TestDebianPackage builds the .deb, checks its metadata, file list,
// lintian and the unit's sandbox score, unpacks it into a throwaway root
// (never onto this machine, whose Postfix it would conflict with) and runs
// the unpacked binary the way the unit does: as bartleby (made from the
// package's sysusers.d file, removed afterwards) with only
// CAP_NET_BIND_SERVICE, on ports 25, 80, 443 and 115 of loopback.
func TestDebianPackage(t *testing.T) {
	testutil.NeedRoot(t)
	for _, tool := range []string{"dpkg-deb", "lintian", "systemd-analyze", "systemd-sysusers", "setpriv"} {
		testutil.Need(t, tool)
	}
	for _, port := range []string{"25", "80", "443", "115"} {
		if ln, err := net.Listen("tcp", "127.0.0.1:"+port); err != nil {
			t.Fatalf("port %s of loopback is taken, the test needs it: %v", port, err)
		} else {
			ln.Close()
		}
	}
	deb := buildDeb(t)
	checkDebMetadata(t, deb)
	root := t.TempDir()
	run(t, "dpkg-deb", "-x", deb, root)
	checkUnit(t, root)
	u := makeUser(t, root)
	runUnpacked(t, root, u)
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// buildDeb runs make-deb with the nfpm that `make tools` (a step of make
// test) installed: built here, it would take minutes of go test's timeout.
func buildDeb(t *testing.T) string {
	t.Helper()
	script := filepath.Join(moduleRoot(t), "scripts", "make-deb")
	if err := exec.Command(script, "--has-nfpm").Run(); err != nil {
		if testutil.InCI() {
			t.Fatal("nfpm is not installed: run `make tools` (make test does) before go test")
		}
		t.Skip("nfpm is not installed: run `make tools`")
	}
	cmd := exec.Command(script, t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make-deb: %v\n%s", err, exitStderr(err))
	}
	deb := strings.TrimSpace(string(out))
	st, err := os.Stat(deb)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("package %s: %d KiB", filepath.Base(deb), st.Size()>>10)
	return deb
}

func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

func checkDebMetadata(t *testing.T, deb string) {
	t.Helper()
	info := run(t, "dpkg-deb", "-I", deb)
	for _, want := range []string{"Package: bartleby", "Provides: mail-transport-agent", "Conflicts: mail-transport-agent", "Replaces: mail-transport-agent", " postinst", " prerm", " postrm", " conffiles"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb -I lacks %q:\n%s", want, info)
		}
	}
	list := run(t, "dpkg-deb", "-c", deb)
	for _, want := range []string{
		"./usr/sbin/bartleby", "./usr/sbin/sendmail -> bartleby", "./usr/bin/mailq -> ../sbin/bartleby",
		"./usr/bin/newaliases -> ../sbin/bartleby", "./etc/bartleby/bartleby.toml",
		"./usr/lib/systemd/system/bartleby.service", "./usr/lib/sysusers.d/bartleby.conf", "./usr/lib/tmpfiles.d/bartleby.conf",
		"./usr/share/man/man8/bartleby.8.gz", "./usr/share/man/man8/bartleby-reload.8.gz", "./usr/share/man/man5/bartleby.toml.5.gz",
		"./usr/share/man/man8/sendmail.8.gz", "./usr/share/man/man8/mailq.8.gz", "./usr/share/man/man8/newaliases.8.gz",
		"./usr/share/bash-completion/completions/bartleby", "./usr/share/zsh/vendor-completions/_bartleby",
		"./usr/share/fish/vendor_completions.d/bartleby.fish", "./usr/share/doc/bartleby/copyright",
	} {
		if !strings.Contains(list, want) {
			t.Errorf("dpkg-deb -c lacks %q", want)
		}
	}
	out, err := exec.Command("lintian", "--fail-on", "error", "--allow-root", deb).CombinedOutput()
	// Every command the package puts on PATH has a page (sendmail, mailq
	// and newaliases point to bartleby-sendmail(8)).
	if err != nil || strings.Contains(string(out), "no-manual-page") {
		t.Errorf("lintian: %v\n%s", err, out)
	}
	t.Logf("lintian:\n%s", out)
}

// maxExposure is the highest systemd-analyze security score accepted.
const maxExposure = 2.0

func checkUnit(t *testing.T, root string) {
	t.Helper()
	unit := filepath.Join(root, "usr/lib/systemd/system/bartleby.service")
	out := run(t, "systemd-analyze", "security", "--offline=true", unit)
	m := regexp.MustCompile(`Overall exposure level for bartleby.service: ([0-9.]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no score in:\n%s", out)
	}
	if score, _ := strconv.ParseFloat(m[1], 64); score > maxExposure {
		t.Errorf("systemd-analyze security: %s, want ≤ %.1f:\n%s", m[1], maxExposure, out)
	}
	t.Logf("systemd-analyze security --offline=true: %s", m[1])
	// verify resolves ExecStart= and the man pages: point both at the
	// unpacked root.
	body, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), "bartleby.service")
	if err := os.WriteFile(local, []byte(strings.ReplaceAll(string(body), "/usr/sbin/bartleby", root+"/usr/sbin/bartleby")), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("systemd-analyze", "verify", local)
	cmd.Env = append(os.Environ(), "MANPATH="+root+"/usr/share/man")
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// makeUser creates bartleby from the package's sysusers.d file and removes
// it when the test ends; an existing bartleby user is a failure, not
// something to remove.
func makeUser(t *testing.T, root string) *privdrop.User {
	t.Helper()
	if _, err := user.Lookup("bartleby"); err == nil {
		t.Fatal("a bartleby user exists already on this machine; the test makes and removes its own")
	}
	run(t, "systemd-sysusers", filepath.Join(root, "usr/lib/sysusers.d/bartleby.conf"))
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", "bartleby").CombinedOutput(); err != nil {
			t.Errorf("userdel bartleby: %v\n%s", err, out)
		}
		exec.Command("groupdel", "bartleby").Run() // userdel removes it already on most setups
	})
	u, err := privdrop.Lookup("bartleby")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

const packagedConfig = `state_dir = %[1]q
hostname = "localhost"
[admin]
listen = %[2]q
[web]
http = "127.0.0.1:80"
https = "127.0.0.1:443"
[[site]]
hosts = ["localhost"]
  [[site.route]]
  root = %[3]q
[mail]
qualify_domain = "localhost"
submit = [%[4]q]
  [mail.smarthost]
  host = "127.0.0.1:9"
  [mail.backup_mx]
  listen = ["127.0.0.1:25"]
  domains = ["example.org"]
  primary = "127.0.0.1:9"
[ssh]
listen = "127.0.0.1:115"
  [[ssh.user]]
  name = "demo"
  password = "$2a$12$JeRPLpgYKsf9l8I1/RIaYuJA/LvDLeMu7bp37MQRFlOdZg20qAnBe"
  root = %[3]q
`

func runUnpacked(t *testing.T, root string, u *privdrop.User) {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		os.Chmod(d, 0o755)
	}
	// state as the package's tmpfiles.conf makes /var/lib/bartleby.
	state, www := filepath.Join(dir, "state"), filepath.Join(dir, "www")
	for d, mode := range map[string]os.FileMode{state: 0o711, www: 0o750} {
		if err := os.Mkdir(d, mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, mode)
		os.Chown(d, u.UID, u.GID)
	}
	cfg := filepath.Join(dir, "bartleby.toml")
	good := fmt.Sprintf(packagedConfig, state, testutil.FreePort(t), www, testutil.FreePort(t))
	if err := os.WriteFile(cfg, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "usr/sbin/bartleby")
	asBartleby := []string{"setpriv", "--reuid", "bartleby", "--regid", "bartleby", "--init-groups",
		"--inh-caps", "-all,+net_bind_service", "--ambient-caps", "+net_bind_service", "--bounding-set", "-all,+net_bind_service"}
	logs := &strings.Builder{}
	daemon := exec.Command(asBartleby[0], append(asBartleby[1:], bin, "serve", "-c", cfg)...)
	daemon.Stdout, daemon.Stderr = logs, logs
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { daemon.Wait(); close(exited) }()
	t.Cleanup(func() {
		daemon.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(40 * time.Second):
			daemon.Process.Kill()
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs)
		}
	})
	waitControl(t, state, exited)

	for _, port := range []string{"25", "80", "443", "115"} {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 5*time.Second)
		if err != nil {
			t.Errorf("nothing listens on port %s: %v", port, err)
			continue
		}
		c.Close()
	}
	pid := strconv.Itoa(daemon.Process.Pid)
	threads, err := privdrop.Threads(pid)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range threads {
		if err := c.Check(u.UID, u.GID); err != nil {
			t.Error(err)
		}
	}
	if status, err := os.ReadFile("/proc/" + pid + "/status"); err == nil {
		t.Logf("after start as bartleby: %s", regexp.MustCompile(`VmRSS:\s+\d+ kB`).Find(status))
	}

	// A broken config: reload exits 1, the daemon runs on.
	if err := os.WriteFile(cfg, []byte(good+"bogus = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(asBartleby[0], append(asBartleby[1:], bin, "reload", "-c", cfg)...).CombinedOutput()
	if exitCode(err) != 1 || !strings.Contains(string(out), "the running config is unchanged") {
		t.Errorf("reload of a broken config: %v\n%s", err, out)
	}
	select {
	case <-exited:
		t.Fatal("the daemon exited after a broken reload")
	default:
	}
	if err := os.WriteFile(cfg, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}

	sendmail, mailq := filepath.Join(root, "usr/sbin/sendmail"), filepath.Join(root, "usr/bin/mailq")
	// Root, and an ordinary user outside the bartleby group.
	users := [][]string{nil, {"setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups"}}
	as := func(who []string, stdin string, argv ...string) (string, error) {
		argv = append(append([]string{}, who...), argv...)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "BARTLEBY_CONFIG="+cfg)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, who := range users {
		if out, err := as(who, "To: someone@example.net\nSubject: from the package test\n\nhello\n", sendmail, "-t"); err != nil {
			t.Errorf("sendmail as %v: %v\n%s", who, err, out)
		}
	}
	// mailq as root goes through the control socket, as nobody through the
	// public socket (the control socket refuses nobody).
	for _, who := range users {
		if out, err := as(who, "", mailq); err != nil || strings.Count(out, "someone@example.net") != 2 {
			t.Errorf("mailq as %v: %v, want both messages:\n%s", who, err, out)
		}
	}
}

func waitControl(t *testing.T, state string, exited <-chan struct{}) {
	t.Helper()
	testutil.Eventually(t, 20*time.Second, "the unpacked bartleby to answer status", func() error {
		select {
		case <-exited:
			t.Fatal("the unpacked bartleby exited during start-up")
		default:
		}
		return testutil.StatusAnswers(state)
	})
}
