package jail

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pkg/sftp"
)

// sftpClient serves the test jail over an in-memory pipe.
func sftpClient(t *testing.T) (*sftp.Client, string) {
	t.Helper()
	return sftpClientWith(t, DefaultPerms)
}

func sftpClientWith(t *testing.T, perms Perms) (*sftp.Client, string) {
	t.Helper()
	j, dir := testJailWith(t, perms)
	c1, c2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s1, s2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	srv := sftp.NewRequestServer(struct {
		io.Reader
		io.WriteCloser
	}{c1, s2}, j.Handlers())
	go srv.Serve()
	cl, err := sftp.NewClientPipe(s1, c2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); c2.Close(); cl.Close() })
	return cl, dir
}

func isDenied(err error) bool {
	var se *sftp.StatusError
	if errors.As(err, &se) {
		return se.FxCode() == sftp.ErrSSHFxPermissionDenied
	}
	return errors.Is(err, os.ErrPermission)
}

func TestSFTPEscapes(t *testing.T) {
	t.Parallel()
	cl, dir := sftpClient(t)
	root := filepath.Join(dir, "root")
	outside := filepath.Join(dir, "outside")
	os.Mkdir(outside, 0o755)
	os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644)
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "planted"))
	os.Symlink("../outside", filepath.Join(root, "planted-dir"))
	os.WriteFile(filepath.Join(root, "mine"), []byte("mine"), 0o644)
	os.WriteFile(filepath.Join(dir, "www", "page"), []byte("page"), 0o644)

	if _, err := cl.Open("/planted"); !isDenied(err) {
		t.Errorf("planted symlink: %v, want permission denied", err)
	}
	if _, err := cl.Open("/planted-dir/secret"); !isDenied(err) {
		t.Errorf("planted dir symlink: %v, want permission denied", err)
	}
	if _, err := cl.ReadDir("/planted-dir"); !isDenied(err) {
		t.Errorf("list through planted dir symlink: %v", err)
	}
	if _, err := cl.Open("../../outside/secret"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("../ path: %v, want not found inside the jail", err)
	}
	if err := cl.Symlink("/etc", "/etc-link"); !isDenied(err) {
		t.Errorf("absolute symlink: %v", err)
	}
	if err := cl.Symlink("../outside", "/up"); !isDenied(err) {
		t.Errorf("climbing symlink: %v", err)
	}
	if err := cl.Symlink("../mine", "/data/cross"); !isDenied(err) {
		t.Errorf("symlink out of a mount: %v", err)
	}
	if err := cl.Symlink("mine", "/ok-link"); err != nil {
		t.Errorf("relative symlink inside: %v", err)
	}
	if err := cl.Rename("/mine", "/data/mine"); !isDenied(err) {
		t.Errorf("rename across mounts: %v", err)
	}
	if err := cl.Link("/mine", "/data/hard"); !isDenied(err) {
		t.Errorf("hard link across mounts: %v", err)
	}
	if err := cl.Link("/mine", "/hard"); err != nil {
		t.Errorf("hard link inside: %v", err)
	}
	if err := cl.Rename("/data", "/moved"); !isDenied(err) {
		t.Errorf("renaming a mount point: %v", err)
	}
	// A planted link that leads out cannot be moved or copied to a place
	// of the user's choosing; the user's own links can.
	for _, planted := range []string{"/planted", "/planted-dir"} {
		if err := cl.Rename(planted, "/moved-link"); !isDenied(err) {
			t.Errorf("rename %s: %v", planted, err)
		}
		if err := cl.PosixRename(planted, "/moved-link"); !isDenied(err) {
			t.Errorf("posix-rename %s: %v", planted, err)
		}
		if err := cl.Link(planted, "/copied-link"); !isDenied(err) {
			t.Errorf("hard link of %s: %v", planted, err)
		}
	}
	if err := cl.Link("/ok-link", "/ok-link2"); err != nil {
		t.Errorf("hard link of the user's own link: %v", err)
	}
	if err := cl.Rename("/ok-link2", "/ok-link3"); err != nil {
		t.Errorf("rename of the user's own link: %v", err)
	}
	// A failed write names no host path.
	if f, err := cl.OpenFile("/big", os.O_WRONLY|os.O_CREATE); err != nil {
		t.Error(err)
	} else {
		if _, err := f.WriteAt([]byte("x"), 1<<62); err == nil || strings.Contains(err.Error(), dir) {
			t.Errorf("write past the largest file: %v", err)
		}
		f.Close()
	}
	// Read-only mount: no write, no empty file (CVE-2017-15906), no mkdir.
	if f, err := cl.OpenFile("/www/empty", os.O_WRONLY|os.O_CREATE); !isDenied(err) {
		t.Errorf("create in read-only mount: %v", err)
		if f != nil {
			f.Close()
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "www", "empty")); err == nil {
		t.Error("an empty file was created in the read-only mount")
	}
	if err := cl.Mkdir("/www/d"); !isDenied(err) {
		t.Errorf("mkdir in read-only mount: %v", err)
	}
	if err := cl.Remove("/www/page"); !isDenied(err) {
		t.Errorf("remove in read-only mount: %v", err)
	}
	if err := cl.Chmod("/www/page", 0o777); !isDenied(err) {
		t.Errorf("chmod in read-only mount: %v", err)
	}
	if f, err := cl.Open("/www/page"); err != nil {
		t.Errorf("reading the read-only mount: %v", err)
	} else {
		f.Close()
	}
	// Nothing outside changed.
	if b, _ := os.ReadFile(filepath.Join(outside, "secret")); string(b) != "secret" {
		t.Error("outside file changed")
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 1 {
		t.Errorf("outside dir has %d entries", len(entries))
	}
}

func TestSFTPModesAndSpecialFiles(t *testing.T) {
	t.Parallel()
	cl, dir := sftpClient(t)
	root := filepath.Join(dir, "root")
	f, err := cl.OpenFile("/new", os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("x"))
	f.Close()
	if st, _ := os.Stat(filepath.Join(root, "new")); st == nil || st.Mode().Perm() != 0o644 {
		t.Errorf("new file mode %v, want 0644 (umask 022)", st)
	}
	// Overwriting truncates.
	os.WriteFile(filepath.Join(root, "long"), []byte("a much longer content"), 0o644)
	if f, err := cl.OpenFile("/long", os.O_WRONLY|os.O_TRUNC); err != nil {
		t.Fatal(err)
	} else {
		f.Write([]byte("short"))
		f.Close()
	}
	if b, _ := os.ReadFile(filepath.Join(root, "long")); string(b) != "short" {
		t.Errorf("overwrite gave %q", b)
	}
	if err := cl.Chmod("/new", os.ModeSetuid|0o755); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(root, "new")); st.Mode()&os.ModeSetuid != 0 || st.Mode().Perm() != 0o755 {
		t.Errorf("chmod 4755 gave %v, want 0755 without setuid", st.Mode())
	}
	if err := cl.Mkdir("/dir"); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(root, "dir")); st.Mode().Perm() != 0o755 {
		t.Errorf("mkdir mode %v", st.Mode())
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Open("/fifo"); !isDenied(err) {
		t.Errorf("opening a FIFO: %v, want permission denied (and no hang)", err)
	}
	if err := cl.PosixRename("/new", "/dir/renamed"); err != nil {
		t.Errorf("posix-rename: %v", err)
	}
	if _, err := cl.StatVFS("/"); err != nil {
		t.Errorf("statvfs: %v", err)
	}
	// The mount point shows in the listing of /.
	names := map[string]bool{}
	infos, err := cl.ReadDir("/")
	if err != nil {
		t.Fatal(err)
	}
	for _, fi := range infos {
		names[fi.Name()] = fi.IsDir()
	}
	if !names["data"] || !names["www"] {
		t.Errorf("mount points missing from the listing: %v", names)
	}
}
