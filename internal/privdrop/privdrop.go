// Package privdrop turns a daemon started as root into an unprivileged one:
// it takes on a user's uid, gid and groups on every thread and keeps one
// capability, CAP_NET_BIND_SERVICE, so that reloads can still bind ports
// below 1024. Everything else, including the bounding set, is dropped.
package privdrop

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"

	"kernel.org/pub/linux/libs/security/libcap/cap"
)

// Kept is the only capability a dropped daemon keeps.
const Kept = cap.NET_BIND_SERVICE

// keptMask is Kept as the bit the kernel shows in /proc/PID/status.
const keptMask = uint64(1) << Kept

// User is the account the daemon runs as.
type User struct {
	Name   string
	UID    int
	GID    int
	Groups []int // supplementary groups, as in /etc/group
}

// Lookup finds name in the user database.
func Lookup(name string) (*User, error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return nil, fmt.Errorf("no user %q on this system: create it (the Debian package's sysusers.d file makes \"bartleby\") or change the user key / serve --user", name)
		}
		return nil, fmt.Errorf("user %q: %w", name, err)
	}
	out := &User{Name: name}
	if out.UID, err = strconv.Atoi(u.Uid); err != nil {
		return nil, fmt.Errorf("user %q: uid %q: %w", name, u.Uid, err)
	}
	if out.GID, err = strconv.Atoi(u.Gid); err != nil {
		return nil, fmt.Errorf("user %q: gid %q: %w", name, u.Gid, err)
	}
	gids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("user %q: groups: %w", name, err)
	}
	for _, g := range gids {
		n, err := strconv.Atoi(g)
		if err != nil {
			return nil, fmt.Errorf("user %q: group %q: %w", name, g, err)
		}
		out.Groups = append(out.Groups, n)
	}
	return out, nil
}

// Drop makes every thread of the process run as u with only Kept in its
// permitted, effective, inheritable and ambient sets and its bounding set.
// Running as u already is a no-op; any other non-root start is an error.
// The result is read back from /proc (Verify) before Drop returns.
func Drop(u *User) error {
	if os.Geteuid() == u.UID && os.Getuid() == u.UID {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("running as %q needs bartleby to start as root (it runs as uid %d)", u.Name, os.Geteuid())
	}
	if err := cap.SetGroups(u.GID, u.Groups...); err != nil {
		return fmt.Errorf("setting groups of %q: %w", u.Name, err)
	}
	// cap.SetUID keeps the permitted set across the uid change (keep-caps),
	// on all threads (libcap's psx), so the sets can be narrowed after it.
	if err := cap.SetUID(u.UID); err != nil {
		return fmt.Errorf("becoming %q: %w", u.Name, err)
	}
	if err := narrow(); err != nil {
		return err
	}
	return Verify(u.UID, u.GID)
}

// narrow leaves Kept alone in every capability set. Dropping from the
// bounding set needs CAP_SETPCAP, so that goes first and SETPCAP last.
func narrow() error {
	withPCAP := cap.NewSet()
	for _, f := range []cap.Flag{cap.Permitted, cap.Effective} {
		if err := withPCAP.SetFlag(f, true, Kept, cap.SETPCAP); err != nil {
			return fmt.Errorf("capabilities: %w", err)
		}
	}
	if err := withPCAP.SetFlag(cap.Inheritable, true, Kept); err != nil {
		return fmt.Errorf("capabilities: %w", err)
	}
	if err := withPCAP.SetProc(); err != nil {
		return fmt.Errorf("capabilities: %w", err)
	}
	iab := cap.NewIAB()
	for v := cap.Value(0); v < cap.MaxBits(); v++ {
		if v != Kept {
			if err := iab.SetVector(cap.Bound, true, v); err != nil {
				return fmt.Errorf("bounding set: %w", err)
			}
		}
	}
	if err := iab.SetVector(cap.Inh, true, Kept); err != nil {
		return fmt.Errorf("inheritable set: %w", err)
	}
	if err := iab.SetVector(cap.Amb, true, Kept); err != nil {
		return fmt.Errorf("ambient set: %w", err)
	}
	if err := iab.SetProc(); err != nil {
		return fmt.Errorf("bounding and ambient sets: %w", err)
	}
	only := cap.NewSet()
	for _, f := range []cap.Flag{cap.Permitted, cap.Effective, cap.Inheritable} {
		if err := only.SetFlag(f, true, Kept); err != nil {
			return fmt.Errorf("capabilities: %w", err)
		}
	}
	if err := only.SetProc(); err != nil {
		return fmt.Errorf("capabilities: %w", err)
	}
	return nil
}

// CanBindLow says whether this process may bind ports below 1024.
func CanBindLow() bool {
	on, err := cap.GetProc().GetFlag(cap.Effective, Kept)
	return err == nil && on
}
