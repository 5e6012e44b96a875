package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"bartleby/internal/testutil"
)

// TestJailGroupAndUmask is issue 14 item 6 with the real sftp and rsync
// clients: bartleby runs as its own user, a member of a shared group (as
// bartleby joins www-data), and alice has that group and umask 002. What
// she writes lands in the group, group-writable, directories setgid; the
// umask still removes the bits it names, with rsync -p too.
func TestJailGroupAndUmask(t *testing.T) {
	testutil.NeedRoot(t)
	sftpBin, rsyncBin := testutil.Need(t, "sftp"), testutil.Need(t, "rsync")
	keygen := testutil.Need(t, "ssh-keygen")
	const daemonUser, share = "bartleby-perms", "bartleby-share"
	addUserInGroup(t, daemonUser, share)
	gid := groupID(t, share)

	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "chown", daemonUser, root)
	key := filepath.Join(dir, "id_ed25519")
	run(t, keygen, "-q", "-t", "ed25519", "-N", "", "-f", key)
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	addr := testutil.FreePort(t)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	testutil.StartDaemonAs(t, daemonUser, fmt.Sprintf(`
[ssh]
listen = %q
  [[ssh.user]]
  name = "alice"
  keys = [%q]
  root = %q
  rsync = true
  group = %q
  umask = "002"
`, addr, strings.TrimSpace(string(pub)), root, share))

	src := filepath.Join(dir, "src") // 0755, as synced/ will be
	writeTree(t, src, map[string]fs.FileMode{"open": 0o666, "plain": 0o644, "sub/": 0o777, "sub/deep": 0o600})
	sshOpts := []string{"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-i", key}
	batch := filepath.Join(dir, "batch")
	os.WriteFile(batch, []byte("mkdir up\nput "+filepath.Join(src, "plain")+" up/file\n"), 0o644)
	run(t, sftpBin, append(append([]string{"-P", port}, sshOpts...), "-b", batch, "alice@127.0.0.1")...)
	rsh := "ssh -p " + port + " " + strings.Join(sshOpts, " ")
	run(t, rsyncBin, "-rlptD", "-e", rsh, src+"/", "alice@127.0.0.1:synced/")
	run(t, rsyncBin, "-rlt", "-e", rsh, src+"/", "alice@127.0.0.1:noperms/")

	setgidDir := fs.ModeDir | fs.ModeSetgid
	for name, want := range map[string]fs.FileMode{
		".":  setgidDir | 0o755,                   // the jail root, prepared at start
		"up": setgidDir | 0o775, "up/file": 0o664, // sftp: 0666 and 0777 less the umask
		"synced": setgidDir | 0o755, "synced/open": 0o664, "synced/plain": 0o644, // rsync -p: the source's modes less the umask
		"synced/sub": setgidDir | 0o775, "synced/sub/deep": 0o600,
		"noperms/open": 0o664, "noperms/sub": setgidDir | 0o775, "noperms/sub/deep": 0o600, // rsync without -p
	} {
		p := filepath.Join(root, name)
		st, err := os.Lstat(p)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if st.Mode() != want {
			t.Errorf("%s: mode %v, want %v", name, st.Mode(), want)
		}
		if g := int(st.Sys().(*syscall.Stat_t).Gid); g != gid {
			t.Errorf("%s: group %d, want %s (%d)", name, g, share, gid)
		}
	}
}

// addUserInGroup makes a system user that is a member of group, both
// removed when the test ends.
func addUserInGroup(t *testing.T, name, group string) {
	t.Helper()
	run(t, "groupadd", "--system", group)
	t.Cleanup(func() { exec.Command("groupdel", group).Run() })
	run(t, "useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", "--groups", group, name)
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v\n%s", name, err, out)
		}
	})
}

func groupID(t *testing.T, group string) int {
	t.Helper()
	out, err := exec.Command("getent", "group", group).Output()
	if err != nil {
		t.Fatalf("getent group %s: %v", group, err)
	}
	var gid int
	if _, err := fmt.Sscanf(strings.Split(string(out), ":")[2], "%d", &gid); err != nil {
		t.Fatalf("gid of %s in %q: %v", group, out, err)
	}
	return gid
}

// writeTree makes files (and, for names ending in "/", directories) with
// exactly the modes given, whatever the umask.
func writeTree(t *testing.T, dir string, files map[string]fs.FileMode) {
	t.Helper()
	for name, mode := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(p, []byte(name), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
}
