package jail

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/pkg/sftp"
	"golang.org/x/sys/unix"
)

// Handlers serves SFTP requests from the jail.
func (j *Jail) Handlers() sftp.Handlers {
	h := handlers{j}
	return sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h}
}

// handlers implements pkg/sftp's request-server interfaces over a Jail.
type handlers struct{ j *Jail }

var (
	_ sftp.OpenFileWriter       = handlers{}
	_ sftp.PosixRenameFileCmder = handlers{}
	_ sftp.StatVFSFileCmder     = handlers{}
	_ sftp.LstatFileLister      = handlers{}
	_ sftp.RealPathFileLister   = handlers{}
	_ sftp.ReadlinkFileLister   = handlers{}
)

// guard turns a panic in a handler into an error for the client: pkg/sftp
// runs handlers in its own goroutines, where a panic would end the whole
// daemon.
func guard(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("internal error: %v", p)
	}
}

// Fileread opens a file for download.
func (h handlers) Fileread(r *sftp.Request) (_ io.ReaderAt, err error) {
	defer guard(&err)
	f, err := h.open(r)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Filewrite opens a file for upload. Read-only places refuse even an
// open that would only create an empty file (OpenSSH CVE-2017-15906).
func (h handlers) Filewrite(r *sftp.Request) (_ io.WriterAt, err error) {
	defer guard(&err)
	f, err := h.open(r)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// OpenFile opens a file for both reading and writing.
func (h handlers) OpenFile(r *sftp.Request) (_ sftp.WriterAtReaderAt, err error) {
	defer guard(&err)
	f, err := h.open(r)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (h handlers) open(r *sftp.Request) (*auditFile, error) {
	pf := r.Pflags()
	op := "get"
	if pf.Write || pf.Creat || pf.Trunc {
		op = "put"
	}
	err := h.j.handles.take()
	var f *auditFile
	if err == nil {
		if f, err = h.openFile(r, pf, op); err != nil {
			h.j.handles.give()
		}
	}
	if err != nil {
		h.j.audit(op, r.Filepath, -1, err)
		return nil, err
	}
	return f, nil
}

func (h handlers) openFile(r *sftp.Request, pf sftp.FileOpenFlags, op string) (*auditFile, error) {
	var m *mount
	var rel string
	var err error
	if op == "put" {
		m, rel, err = h.j.writable(r.Filepath)
	} else {
		m, rel, err = h.j.route(r.Filepath)
	}
	if err != nil {
		return nil, err
	}
	flags := openSafe
	switch {
	case pf.Read && pf.Write:
		flags |= os.O_RDWR
	case pf.Write || pf.Creat || pf.Trunc:
		flags |= os.O_WRONLY
	}
	var f *os.File
	if pf.Creat {
		f, err = createFile(m.root, rel, flags, pf.Excl, h.j.perms)
	} else {
		f, err = m.root.OpenFile(rel, flags, 0)
	}
	if err != nil {
		return nil, denyEscape(err)
	}
	// Only regular files: a device node or FIFO planted in the jail is
	// not a way to reach the host's disks or block the server.
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file: %w", Clean(r.Filepath), ErrDenied)
	}
	// Truncate only now that it is known to be a regular file.
	if pf.Trunc {
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, denyEscape(err)
		}
	}
	return &auditFile{File: f, j: h.j, op: op, path: Clean(r.Filepath)}, nil
}

// openSafe is in every open of what may not be a regular file (the check
// comes after the open): never block on a FIFO, never take a tty as the
// daemon's controlling terminal.
const openSafe = syscall.O_NONBLOCK | syscall.O_NOCTTY

// createFile creates rel with the user's group and a mode within their
// umask (set explicitly, not left to the process umask), or opens the
// existing file unless excl. pkg/sftp does not keep an open request's
// attribute flags, so the client's requested mode cannot be read reliably;
// `put -p` sets it afterwards with setstat.
func createFile(root *os.Root, rel string, flags int, excl bool, perms Perms) (*os.File, error) {
	f, err := root.OpenFile(rel, flags|os.O_CREATE|os.O_EXCL, perms.fileMode())
	if err == nil {
		if err := setOwnership(f, perms, perms.fileMode()); err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	}
	if excl || !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return root.OpenFile(rel, flags, 0)
}

// setOwnership gives a new file or directory, open as f, the user's group
// and then mode (chown may clear mode bits, so it comes first). Through
// the descriptor: nothing can swap the name in between.
func setOwnership(f *os.File, perms Perms, mode fs.FileMode) error {
	if perms.Group != 0 {
		if err := f.Chown(-1, perms.Group); err != nil {
			return fmt.Errorf("giving it group %d: %w", perms.Group, err)
		}
	}
	return f.Chmod(mode)
}

// auditFile counts the bytes moved through an open file and logs them
// when the client closes it.
type auditFile struct {
	*os.File
	j      *Jail
	op     string
	path   string
	n      atomic.Int64
	closed atomic.Bool
}

// ReadAt and WriteAt return errors without the host path ("no space
// left on device", not "write /srv/sftp/alice/x: …"); io.EOF stays.
func (f *auditFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	f.n.Add(int64(n))
	return n, denyEscape(err)
}

func (f *auditFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.File.WriteAt(p, off)
	f.n.Add(int64(n))
	return n, denyEscape(err)
}

// Close closes the file and gives back its handle, once.
func (f *auditFile) Close() error {
	if f.closed.Swap(true) {
		return os.ErrClosed
	}
	defer f.j.handles.give()
	err := f.File.Close()
	f.j.audit(f.op, f.path, f.n.Load(), err)
	return err
}

// Filecmd runs the commands that change the tree.
func (h handlers) Filecmd(r *sftp.Request) (err error) {
	defer guard(&err)
	err = h.cmd(r)
	p := r.Filepath
	if r.Target != "" {
		p = r.Filepath + " -> " + r.Target
	}
	h.j.audit(opName(r.Method), p, -1, err)
	return err
}

func opName(method string) string {
	switch method {
	case "Setstat":
		return "setstat"
	case "Rename", "PosixRename":
		return "rename"
	case "Link":
		return "hardlink"
	}
	return map[string]string{"Rmdir": "rmdir", "Mkdir": "mkdir", "Symlink": "symlink", "Remove": "remove"}[method]
}

func (h handlers) cmd(r *sftp.Request) error {
	switch r.Method {
	case "Setstat":
		return h.setstat(r)
	case "Rename":
		return h.rename(r, false)
	case "Rmdir":
		return h.remove(r.Filepath, true)
	case "Remove":
		return h.remove(r.Filepath, false)
	case "Mkdir":
		m, rel, err := h.j.writable(r.Filepath)
		if err != nil {
			return err
		}
		return h.mkdir(m.root, rel)
	case "Link":
		m, from, to, err := h.j.samemount(r.Filepath, r.Target)
		if err != nil {
			return err
		}
		if err := checkMovable(m.root, from); err != nil {
			return err
		}
		return denyEscape(m.root.Link(from, to))
	case "Symlink":
		return h.symlink(r.Filepath, r.Target)
	}
	return sftp.ErrSSHFxOpUnsupported
}

// mkdir makes a directory with the user's group and mode, set through a
// descriptor of the new directory: os.Root.Chmod and Chown may act on a
// symlink swapped in for it.
func (h handlers) mkdir(root *os.Root, rel string) error {
	// os.Root.Mkdir takes permission bits only; setgid comes after.
	if err := root.Mkdir(rel, h.j.perms.dirMode().Perm()); err != nil {
		return denyEscape(err)
	}
	d, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return denyEscape(err)
	}
	defer d.Close()
	return denyEscape(setOwnership(d, h.j.perms, h.j.perms.dirMode()))
}

// PosixRename replaces the target if it exists.
func (h handlers) PosixRename(r *sftp.Request) (err error) {
	defer guard(&err)
	err = h.rename(r, true)
	h.j.audit("rename", r.Filepath+" -> "+r.Target, -1, err)
	return err
}

func (h handlers) rename(r *sftp.Request, replace bool) error {
	m, from, to, err := h.j.samemount(r.Filepath, r.Target)
	if err != nil {
		return err
	}
	if err := checkMovable(m.root, from); err != nil {
		return err
	}
	if !replace {
		// SFTP v3 rename does not overwrite, as in OpenSSH's sftp-server.
		if _, err := m.root.Lstat(to); err == nil {
			return fs.ErrExist
		}
	}
	return denyEscape(m.root.Rename(from, to))
}

func (h handlers) remove(p string, dir bool) error {
	m, rel, err := h.j.writable(p)
	if err != nil {
		return err
	}
	st, err := m.root.Lstat(rel)
	if err != nil {
		return denyEscape(err)
	}
	if st.IsDir() != dir {
		if dir {
			return syscall.ENOTDIR
		}
		return fmt.Errorf("%s is a directory: %w", Clean(p), ErrDenied)
	}
	return denyEscape(m.root.Remove(rel))
}

// symlink makes link (a virtual path) point at target. The rule holds
// whatever happens to the link afterwards: a target is relative and never
// climbs ("..": refused anywhere in it), so it can only lead down from the
// directory holding the link, wherever that directory is renamed or the
// link hard-linked to, and through any chain of such links. os.Root would
// refuse to follow anything else, but other programs reading the jail (a
// web server on a mount, a backup job) would not.
func (h handlers) symlink(target, link string) error {
	m, rel, err := h.j.writable(link)
	if err != nil {
		return err
	}
	if err := checkLinkTarget(target); err != nil {
		return err
	}
	if err := m.root.Symlink(target, rel); err != nil {
		return denyEscape(err)
	}
	if h.j.perms.Group != 0 {
		return denyEscape(m.root.Lchown(rel, -1, h.j.perms.Group))
	}
	return nil
}

// checkMovable refuses to rename or hard-link a symlink whose target the
// user could not have made (one planted on the host, such as "/etc"):
// moving or copying it would carry a link that leads out to a place of
// the user's choosing, where a web server or backup job follows it.
// Such a link only moves by a rename or link checked here, so no race
// can slip one past the check.
func checkMovable(root *os.Root, rel string) error {
	st, err := root.Lstat(rel)
	if err != nil || st.Mode()&fs.ModeSymlink == 0 {
		return nil // the operation itself reports a missing file
	}
	target, err := root.Readlink(rel)
	if err != nil {
		return denyEscape(err)
	}
	if err := checkLinkTarget(target); err != nil {
		return fmt.Errorf("%s was not made by you and leads out: %w", rel, ErrDenied)
	}
	return nil
}

// checkLinkTarget refuses absolute targets and any ".." component.
func checkLinkTarget(target string) error {
	if target == "" || path.IsAbs(target) || len(target) > 4096 || strings.IndexByte(target, 0) >= 0 {
		return fmt.Errorf("symlink target must be a relative path below the link's directory: %w", ErrDenied)
	}
	if hasDotDot(target) {
		return fmt.Errorf("symlink target %q climbs with ..; only targets below the link's directory are allowed: %w", target, ErrDenied)
	}
	return nil
}

func (h handlers) setstat(r *sftp.Request) error {
	m, rel, err := h.j.writable(r.Filepath)
	if err != nil {
		return err
	}
	flags, attrs := r.AttrFlags(), r.Attributes()
	if attrs == nil {
		return sftp.ErrSSHFxBadMessage
	}
	if flags.UidGid {
		return fmt.Errorf("changing owners is not allowed: %w", ErrDenied)
	}
	if flags.Size {
		f, err := m.root.OpenFile(rel, os.O_WRONLY|openSafe, 0)
		if err != nil {
			return denyEscape(err)
		}
		st, err := f.Stat()
		if err == nil && !st.Mode().IsRegular() {
			err = ErrDenied
		}
		if err == nil {
			err = f.Truncate(int64(attrs.Size))
		}
		f.Close()
		if err != nil {
			return denyEscape(err)
		}
	}
	if flags.Permissions {
		if err := h.chmod(m.root, rel, attrs.FileMode()); err != nil {
			return denyEscape(err)
		}
	}
	if flags.Acmodtime {
		if err := m.root.Chtimes(rel, attrs.AccessTime(), attrs.ModTime()); err != nil {
			return denyEscape(err)
		}
	}
	return nil
}

// chmod sets a mode the client asked for, as Perms.chmodMode allows it:
// never a bit the umask removes, nor setuid or sticky bits. A directory
// keeps its setgid bit when the user has a group, set through a
// descriptor that O_DIRECTORY proves is one: a file swapped in must never
// get the bit.
func (h handlers) chmod(root *os.Root, rel string, mode fs.FileMode) error {
	if h.j.perms.Group != 0 {
		if d, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_DIRECTORY, 0); err == nil {
			defer d.Close()
			return d.Chmod(h.j.perms.chmodMode(mode, true))
		}
	}
	return root.Chmod(rel, h.j.perms.chmodMode(mode, false))
}

// StatVFS reports the filesystem holding the path's mount.
func (h handlers) StatVFS(r *sftp.Request) (_ *sftp.StatVFS, err error) {
	defer guard(&err)
	m, _, err := h.j.route(r.Filepath)
	if err != nil {
		return nil, err
	}
	d, err := m.root.Open(".")
	if err != nil {
		return nil, denyEscape(err)
	}
	defer d.Close()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(d.Fd()), &st); err != nil {
		return nil, err
	}
	return &sftp.StatVFS{
		Bsize: uint64(st.Bsize), Frsize: uint64(st.Frsize), Blocks: st.Blocks, Bfree: st.Bfree,
		Bavail: st.Bavail, Files: st.Files, Ffree: st.Ffree, Favail: st.Ffree,
		Fsid: uint64(uint32(st.Fsid.Val[0]))<<32 | uint64(uint32(st.Fsid.Val[1])), Namemax: uint64(st.Namelen),
	}, nil
}

// Filelist answers List, Stat and Readlink.
func (h handlers) Filelist(r *sftp.Request) (_ sftp.ListerAt, err error) {
	defer guard(&err)
	switch r.Method {
	case "List":
		l, err := h.list(r.Filepath)
		h.j.audit("list", r.Filepath, -1, err)
		return l, err
	case "Stat":
		return h.stat(r.Filepath, false)
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

// Lstat does not follow a final symlink.
func (h handlers) Lstat(r *sftp.Request) (_ sftp.ListerAt, err error) {
	defer guard(&err)
	return h.stat(r.Filepath, true)
}

func (h handlers) stat(p string, lstat bool) (sftp.ListerAt, error) {
	m, rel, err := h.j.route(p)
	if err != nil {
		return nil, err
	}
	var st os.FileInfo
	if lstat {
		st, err = m.root.Lstat(rel)
	} else {
		st, err = m.root.Stat(rel)
	}
	if err != nil {
		return nil, denyEscape(err)
	}
	return listerAt{namedInfo{FileInfo: st, name: path.Base(Clean(p))}}, nil
}

// list opens a directory for reading, a batch at a time (see dirLister);
// it holds one of the connection's handles until the client closes it.
func (h handlers) list(p string) (sftp.ListerAt, error) {
	m, rel, err := h.j.route(p)
	if err != nil {
		return nil, err
	}
	if err := h.j.handles.take(); err != nil {
		return nil, err
	}
	d, err := m.root.OpenFile(rel, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		h.j.handles.give()
		return nil, denyEscape(err)
	}
	l := &dirLister{d: d, budget: &h.j.handles, hidden: map[string]bool{}}
	// Mount points show as the directories they mount.
	for _, mp := range h.j.mountsIn(Clean(p)) {
		st, err := mp.root.Stat(".")
		if err != nil {
			continue
		}
		name := path.Base(mp.Path)
		l.mounts = append(l.mounts, namedInfo{FileInfo: st, name: name})
		l.hidden[name] = true
	}
	return l, nil
}

// RealPath cleans the path: clients use it to find "/" and ".".
func (h handlers) RealPath(p string) (string, error) {
	return Clean(p), nil
}

// Readlink returns a symlink's target as written.
func (h handlers) Readlink(p string) (_ string, err error) {
	defer guard(&err)
	m, rel, err := h.j.route(p)
	if err != nil {
		return "", err
	}
	t, err := m.root.Readlink(rel)
	return t, denyEscape(err)
}

// namedInfo gives a FileInfo the name the client asked about.
type namedInfo struct {
	os.FileInfo
	name string
}

func (n namedInfo) Name() string { return n.name }

type listerAt []os.FileInfo

func (l listerAt) ListAt(out []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(out, l[off:])
	if n < len(out) {
		return n, io.EOF
	}
	return n, nil
}
