package jail

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// Perms are what the files and directories a user writes get: modes
// within Umask and, when Group is set, that group. Directories get the
// setgid bit too, so that what rsync writes below them (it cannot be told
// to chown) inherits the group from the kernel; the daemon's user must be
// a member of Group, which is all chown(2) asks of an unprivileged owner.
type Perms struct {
	Umask fs.FileMode
	Group int // a gid; 0 leaves new files in the daemon's own group
}

// DefaultPerms is umask 022 in the daemon's group.
var DefaultPerms = Perms{Umask: 0o022}

// fileMode is the mode of a new file.
func (p Perms) fileMode() fs.FileMode { return 0o666 &^ p.Umask }

// dirMode is the mode of a new directory.
func (p Perms) dirMode() fs.FileMode { return p.chmodMode(0o777, true) }

// chmodMode is what a mode asked for becomes: no setuid, setgid or sticky
// bits, none of Umask's; the setgid bit on directories when Group is set.
func (p Perms) chmodMode(m fs.FileMode, dir bool) fs.FileMode {
	m = m.Perm() &^ p.Umask
	if dir && p.Group != 0 {
		m |= fs.ModeSetgid
	}
	return m
}

// PrepareDir gives a writable mount directory the user's group and the
// setgid bit, which carry the group to everything made below it. It
// changes only what differs, and says what to run when it cannot (the
// directory belongs to another user).
func PrepareDir(dir string, p Perms) error {
	if p.Group == 0 {
		return nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	fix := fmt.Sprintf("chgrp %d %s && chmod g+s %s", p.Group, dir, dir)
	if gid := int(st.Sys().(*syscall.Stat_t).Gid); gid != p.Group {
		if err := os.Chown(dir, -1, p.Group); err != nil {
			return fmt.Errorf("%s must belong to group %d: %w (run %s)", dir, p.Group, err, fix)
		}
	}
	if st.Mode()&fs.ModeSetgid == 0 {
		if err := os.Chmod(dir, st.Mode()&(fs.ModePerm|fs.ModeSticky)|fs.ModeSetgid); err != nil {
			return fmt.Errorf("%s needs the setgid bit: %w (run %s)", dir, err, fix)
		}
	}
	return nil
}
