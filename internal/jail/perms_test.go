package jail

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"bartleby/internal/testutil"
)

// otherGroup is a group this process may give files to that is not its
// own: any group for root, else a supplementary one.
func otherGroup(t *testing.T) int {
	t.Helper()
	if os.Geteuid() == 0 {
		return 4242
	}
	groups, _ := os.Getgroups()
	for _, g := range groups {
		if g != os.Getegid() {
			return g
		}
	}
	testutil.NeedRoot(t)
	return 0
}

func gidOf(t *testing.T, path string) int {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(st.Sys().(*syscall.Stat_t).Gid)
}

// TestSFTPGroupAndUmask: with a group and umask 002 (a shared web root),
// what a user makes through SFTP gets the group, group-writable modes and,
// for directories, the setgid bit; a chmod never adds what the umask
// removes, and a directory keeps its setgid bit through one.
func TestSFTPGroupAndUmask(t *testing.T) {
	t.Parallel()
	gid := otherGroup(t)
	cl, dir := sftpClientWith(t, Perms{Umask: 0o002, Group: gid})
	root := filepath.Join(dir, "root")
	if err := cl.Mkdir("/d"); err != nil {
		t.Fatal(err)
	}
	f, err := cl.Create("/d/f")
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("x"))
	f.Close()
	if err := cl.Symlink("f", "/d/l"); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]fs.FileMode{"d": fs.ModeDir | fs.ModeSetgid | 0o775, "d/f": 0o664} {
		st, err := os.Stat(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("%s: mode %v, want %v", name, st.Mode(), want)
		}
	}
	for _, name := range []string{"d", "d/f", "d/l"} {
		if got := gidOf(t, filepath.Join(root, name)); got != gid {
			t.Errorf("%s: group %d, want %d", name, got, gid)
		}
	}
	if err := cl.Chmod("/d/f", 0o777); err != nil {
		t.Fatal(err)
	}
	if err := cl.Chmod("/d", 0o757); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(root, "d/f")); st.Mode() != 0o775 {
		t.Errorf("chmod 777 under umask 002 gave %v, want 0775", st.Mode())
	}
	if st, _ := os.Stat(filepath.Join(root, "d")); st.Mode() != fs.ModeDir|fs.ModeSetgid|0o755 {
		t.Errorf("chmod 757 of a directory gave %v, want setgid 0755", st.Mode())
	}
	// A file never gets the setgid bit, whatever the client asks.
	if err := cl.Chmod("/d/f", fs.ModeSetgid|0o775); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(root, "d/f")); st.Mode()&fs.ModeSetgid != 0 {
		t.Errorf("chmod g+s of a file gave %v", st.Mode())
	}
}

// TestSFTPDefaultPermsKeepTheDaemonsGroup: without a group, files keep the
// daemon's group, directories get no setgid bit, and umask 022 applies to
// chmod too.
func TestSFTPDefaultPermsKeepTheDaemonsGroup(t *testing.T) {
	t.Parallel()
	cl, dir := sftpClient(t)
	root := filepath.Join(dir, "root")
	if err := cl.Mkdir("/d"); err != nil {
		t.Fatal(err)
	}
	if err := cl.Chmod("/d", 0o777); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(root, "d"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode() != fs.ModeDir|0o755 || gidOf(t, filepath.Join(root, "d")) != os.Getegid() {
		t.Errorf("directory %v group %d, want 0755 in group %d", st.Mode(), gidOf(t, filepath.Join(root, "d")), os.Getegid())
	}
}

func TestRsyncChmod(t *testing.T) {
	for _, tc := range []struct {
		perms Perms
		want  string
	}{
		{DefaultPerms, "a-st,g-w,o-w"},
		{Perms{Umask: 0o002, Group: 33}, "a-st,Dg+s,o-w"},
		{Perms{Umask: 0o027}, "a-st,g-w,o-rwx"},
		{Perms{Umask: 0o277, Group: 1}, "a-st,Dg+s,u-w,g-rwx,o-rwx"},
		{Perms{}, "a-st"},
	} {
		if got := rsyncChmod(tc.perms); got != tc.want {
			t.Errorf("rsyncChmod(%+v) = %q, want %q", tc.perms, got, tc.want)
		}
	}
}

// TestPrepareDir: a writable mount gets the group and the setgid bit,
// keeping its other mode bits; without a group nothing changes.
func TestPrepareDir(t *testing.T) {
	t.Parallel()
	gid := otherGroup(t)
	dir := filepath.Join(t.TempDir(), "www")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := PrepareDir(dir, DefaultPerms); err != nil {
		t.Fatal(err)
	}
	if gidOf(t, dir) != os.Getegid() {
		t.Error("PrepareDir without a group changed the group")
	}
	if err := PrepareDir(dir, Perms{Umask: 0o002, Group: gid}); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(dir)
	if gidOf(t, dir) != gid || st.Mode() != fs.ModeDir|fs.ModeSetgid|0o750 {
		t.Errorf("prepared dir: group %d mode %v, want %d and setgid 0750", gidOf(t, dir), st.Mode(), gid)
	}
}
