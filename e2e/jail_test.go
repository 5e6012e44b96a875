package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bartleby/internal/testutil"
)

// jailSite is a running bartleby with one user, alice: key login, rsync
// allowed, no rsync_owner.
type jailSite struct {
	d    *testutil.Daemon
	port string
	key  string
	dir  string // root/ is alice's jail
}

func startJail(t *testing.T) *jailSite {
	t.Helper()
	return startJailWith(t, "")
}

// startJailWith starts the jail site with more [ssh] settings.
func startJailWith(t *testing.T, settings string) *jailSite {
	t.Helper()
	keygen := testutil.Need(t, "ssh-keygen")
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "root"), 0o755); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	addr := testutil.FreePort(t)
	d := testutil.StartDaemon(t, fmt.Sprintf(`
[ssh]
listen = %q
%s
  [[ssh.user]]
  name = "alice"
  keys = [%q]
  root = "%s/root"
  rsync = true
`, addr, settings, strings.TrimSpace(string(pub)), dir))
	return &jailSite{d: d, port: addr[strings.LastIndexByte(addr, ':')+1:], key: key, dir: dir}
}

func (s *jailSite) sshCommand() string {
	return "ssh -p " + s.port + " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null" +
		" -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR -i " + s.key
}

func (s *jailSite) rsync(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(testutil.Need(t, "rsync"), append([]string{"-e", s.sshCommand()}, args...)...).CombinedOutput()
	return string(out), err
}

// TestRsyncPushCarriesNoPrivilege is issue 12 item 1: a push cannot land
// a file capability, a setuid bit or security/trusted xattrs in the jail,
// by -X, -A or otherwise, even with bartleby running as root.
func TestRsyncPushCarriesNoPrivilege(t *testing.T) {
	t.Parallel()
	setcap, getcap := testutil.Need(t, "setcap"), testutil.Need(t, "getcap")
	getfattr := testutil.Need(t, "getfattr")
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the source file a capability")
	}
	s := startJail(t)
	src := filepath.Join(s.dir, "src")
	os.Mkdir(src, 0o755)
	capFile, suid := filepath.Join(src, "capfile"), filepath.Join(src, "suid")
	os.WriteFile(capFile, []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(suid, []byte("#!/bin/sh\n"), 0o755)
	os.Chmod(suid, 0o6755)
	if out, err := exec.Command(setcap, "cap_setuid+ep", capFile).CombinedOutput(); err != nil {
		t.Fatalf("setcap: %v\n%s", err, out)
	}
	root := filepath.Join(s.dir, "root")
	for _, flags := range []string{"-rlptX", "-rlptA", "-rlptAX"} {
		out, err := s.rsync(t, flags, src+"/", "alice@127.0.0.1:"+flags[1:]+"/")
		if err == nil || !strings.Contains(out, "rsync refused") {
			t.Errorf("rsync %s: %v, want refused:\n%s", flags, err, out)
		}
		if _, err := os.Stat(filepath.Join(root, flags[1:])); err == nil {
			t.Errorf("rsync %s made its destination", flags)
		}
	}
	if out, err := s.rsync(t, "-rlptD", src+"/", "alice@127.0.0.1:plain/"); err != nil {
		t.Fatalf("plain push: %v\n%s", err, out)
	}
	if out, _ := exec.Command(getcap, "-r", root).CombinedOutput(); strings.Contains(string(out), "cap_") {
		t.Errorf("a capability landed in the jail:\n%s", out)
	}
	out, _ := exec.Command(getfattr, "-R", "-d", "-m", "-", root).CombinedOutput()
	if strings.Contains(string(out), "security.") || strings.Contains(string(out), "trusted.") {
		t.Errorf("security/trusted xattrs in the jail:\n%s", out)
	}
	st, err := os.Stat(filepath.Join(root, "plain", "suid"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky) != 0 {
		t.Errorf("pushed file mode %v keeps setuid/setgid", st.Mode())
	}
}

// TestRsyncPullThroughPlantedLink is issue 12 item 3: a link planted in
// the jail by root does not let a pull read the host file it points at.
func TestRsyncPullThroughPlantedLink(t *testing.T) {
	t.Parallel()
	s := startJail(t)
	root := filepath.Join(s.dir, "root")
	if err := os.Symlink("/etc", filepath.Join(root, "planted")); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(s.dir, "dst")
	os.Mkdir(dst, 0o755)
	for _, from := range []string{"planted/passwd", "planted/", "plant*/passwd", "planted/pass*"} {
		out, err := s.rsync(t, "-rlt", "alice@127.0.0.1:"+from, dst+"/")
		if err == nil {
			t.Errorf("pull of %s succeeded:\n%s", from, out)
		}
	}
	// Naming the link itself returns the link, not what it points at.
	if out, err := s.rsync(t, "-rlt", "alice@127.0.0.1:planted", dst+"/"); err != nil {
		t.Errorf("pull of the link itself: %v\n%s", err, out)
	}
	filepath.WalkDir(dst, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			t.Errorf("a host file was pulled: %s", p)
		}
		return nil
	})
}

// TestSFTPClientLinksStayInside is issue 12 item 2 through the OpenSSH
// sftp client: the sequences leave no link that resolves out.
func TestSFTPClientLinksStayInside(t *testing.T) {
	t.Parallel()
	sftpBin := testutil.Need(t, "sftp")
	s := startJail(t)
	batch := filepath.Join(s.dir, "batch")
	os.WriteFile(batch, []byte(`mkdir d
mkdir d/a
mkdir d/a/b
mkdir d/a/b/c
mkdir d/a/b/c/d
mkdir d/a/b/c/d/e
-symlink ../../../../../../etc/passwd d/a/b/c/d/e/pw
rename d/a/b/c/d/e esc
mkdir c
symlink . c/s
-symlink s/s/s/s/s/s/../../../../../../../etc/passwd c/pw
symlink a d/link-down
`), 0o644)
	cmd := exec.Command(sftpBin, "-P", s.port, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-i", s.key, "-b", batch, "alice@127.0.0.1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sftp: %v\n%s", err, out)
	}
	if strings.Count(string(out), "Permission denied") != 2 {
		t.Errorf("want both climbing links refused:\n%s", out)
	}
	root := filepath.Join(s.dir, "root")
	links := 0
	filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		links++
		target, _ := os.Readlink(p)
		if filepath.IsAbs(target) || strings.Contains("/"+target+"/", "/../") {
			t.Errorf("link %s -> %s", p, target)
		}
		if real, err := filepath.EvalSymlinks(p); err == nil && !strings.HasPrefix(real, root+"/") {
			t.Errorf("link %s resolves to %s, outside the jail", p, real)
		}
		return nil
	})
	if links != 2 {
		t.Errorf("found %d links, want c/s and d/link-down", links)
	}
}

// TestRsyncPathsAreNotOptions: rsync reads options after the "." of its
// server command line too, so a destination or source named like an
// option ("--chmod=u+s", "--no-munge-links", "-X") would override the
// options bartleby adds last. Each must arrive as the file it names.
func TestRsyncPathsAreNotOptions(t *testing.T) {
	t.Parallel()
	s := startJail(t)
	root := filepath.Join(s.dir, "root")
	src := filepath.Join(s.dir, "prog")
	os.WriteFile(src, []byte("#!/bin/sh\nid\n"), 0o755)
	for _, dest := range []string{"--chmod=u+s,g+s,+t", "-X"} {
		if out, err := s.rsync(t, "-rtp", src, "alice@127.0.0.1:"+dest); err != nil {
			t.Fatalf("push to %s: %v\n%s", dest, err, out)
		}
		st, err := os.Lstat(filepath.Join(root, dest))
		if err != nil {
			t.Fatalf("push to %s did not land as that file: %v", dest, err)
		}
		if st.Mode()&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky) != 0 || !st.Mode().IsRegular() {
			t.Errorf("%s landed with mode %v", dest, st.Mode())
		}
	}
	if _, err := os.Lstat(filepath.Join(root, "prog")); err == nil {
		t.Error("a push landed under the source's own name: its destination was read as an option")
	}
	// A pull naming an option gets the file of that name, nothing else.
	dst := filepath.Join(s.dir, "dst")
	os.Mkdir(dst, 0o755)
	if out, err := s.rsync(t, "-rt", "alice@127.0.0.1:-X", dst+"/"); err != nil {
		t.Fatalf("pull of -X: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dst, "-X")); err != nil {
		t.Errorf("pull of -X: %v", err)
	}
}

// TestRsyncPullOptions: a pull may remove what it sent from a writable
// jail, and may not ask for compression that costs the server hundreds
// of megabytes (zstd's ultra levels).
func TestRsyncPullOptions(t *testing.T) {
	t.Parallel()
	s := startJail(t)
	root, dst := filepath.Join(s.dir, "root"), filepath.Join(s.dir, "dst")
	os.Mkdir(dst, 0o755)
	os.WriteFile(filepath.Join(root, "moveme"), []byte("x"), 0o644)
	if out, err := s.rsync(t, "--remove-source-files", "alice@127.0.0.1:moveme", dst+"/"); err != nil {
		t.Fatalf("pull --remove-source-files: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(root, "moveme")); err == nil {
		t.Error("--remove-source-files left the source")
	}
	if _, err := os.Stat(filepath.Join(dst, "moveme")); err != nil {
		t.Errorf("--remove-source-files: %v", err)
	}
	os.WriteFile(filepath.Join(root, "f"), []byte("x"), 0o644)
	out, err := s.rsync(t, "-z", "--zc=zstd", "--zl=22", "alice@127.0.0.1:f", dst+"/")
	if err == nil || !strings.Contains(out, "--compress-level=22: at most 19") {
		t.Errorf("pull with zstd level 22: %v, want refused:\n%s", err, out)
	}
	// A local --files-from list (sent as --files-from=-) pulls the names
	// it lists from the jail, and nothing through a planted link or "..".
	os.Symlink("/etc", filepath.Join(root, "planted"))
	list := filepath.Join(s.dir, "list")
	os.WriteFile(list, []byte("f\nplanted/passwd\n../../../../etc/passwd\n"), 0o644)
	listed := filepath.Join(s.dir, "listed")
	os.Mkdir(listed, 0o755)
	if out, err := s.rsync(t, "-r", "--files-from="+list, "alice@127.0.0.1:/", listed+"/"); err == nil {
		t.Errorf("pull of a list naming files outside succeeded:\n%s", out)
	}
	var got []string
	filepath.WalkDir(listed, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			got = append(got, strings.TrimPrefix(p, listed+"/"))
		}
		return nil
	})
	if strings.Join(got, " ") != "f" {
		t.Errorf("--files-from pulled %q, want only f", got)
	}
}

// TestSFTPPlantedLinkStaysPut: a symlink planted on the host that leads
// out cannot be hard-linked or renamed by the user (OpenSSH's ln and
// rename), so it cannot be put where a web server would follow it.
func TestSFTPPlantedLinkStaysPut(t *testing.T) {
	t.Parallel()
	sftpBin := testutil.Need(t, "sftp")
	s := startJail(t)
	root := filepath.Join(s.dir, "root")
	os.Symlink("/etc/passwd", filepath.Join(root, "planted"))
	os.WriteFile(filepath.Join(root, "mine"), []byte("x"), 0o644)
	batch := filepath.Join(s.dir, "batch")
	os.WriteFile(batch, []byte("-ln planted copy\n-rename planted moved\nln mine mine2\n"), 0o644)
	cmd := exec.Command(sftpBin, "-P", s.port, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-i", s.key, "-b", batch, "alice@127.0.0.1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sftp: %v\n%s", err, out)
	}
	for _, name := range []string{"copy", "moved"} {
		if _, err := os.Lstat(filepath.Join(root, name)); err == nil {
			t.Errorf("the planted link was carried to %s", name)
		}
	}
	if _, err := os.Lstat(filepath.Join(root, "planted")); err != nil {
		t.Errorf("the planted link moved: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "mine2")); err != nil {
		t.Errorf("a hard link of the user's own file: %v", err)
	}
}

// TestSSHPerUserMaxConnections: with per_user_max_connections = 1, a second
// login of the user while a first is held gets no session, and OpenSSH's
// sftp prints why.
func TestSSHPerUserMaxConnections(t *testing.T) {
	t.Parallel()
	sshBin, sftpBin := testutil.Need(t, "ssh"), testutil.Need(t, "sftp")
	s := startJailWith(t, "per_user_max_connections = 1")
	opts := []string{"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-i", s.key}
	held := exec.Command(sshBin, append(append([]string{"-p", s.port, "-N"}, opts...), "alice@127.0.0.1")...)
	if err := held.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { held.Process.Kill(); held.Wait() }()
	if !s.d.WaitLog(`"event":"ssh.login"`, 20*time.Second) {
		t.Fatal("the first connection did not log in")
	}
	batch := filepath.Join(s.dir, "batch")
	os.WriteFile(batch, []byte("ls\n"), 0o644)
	out, err := exec.Command(sftpBin, append(append([]string{"-P", s.port, "-b", batch}, opts...), "alice@127.0.0.1")...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "per_user_max_connections") {
		t.Errorf("second login: %v, want refused with the reason:\n%s", err, out)
	}
	held.Process.Kill()
	held.Wait()
	if !s.d.WaitLog(`"event":"ssh.logout"`, 20*time.Second) {
		t.Fatal("the first connection did not end")
	}
	if out, err := exec.Command(sftpBin, append(append([]string{"-P", s.port, "-b", batch}, opts...), "alice@127.0.0.1")...).CombinedOutput(); err != nil {
		t.Errorf("login after the first ended: %v\n%s", err, out)
	}
}
