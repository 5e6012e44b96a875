package jail

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// dropPrivileges empties the calling thread's capability sets (bounding,
// ambient, inheritable, permitted, effective) and sets no_new_privs, so
// the rsync it then execs can set no file capability, foreign owner,
// device node or setuid file, even when the daemon runs as root: Landlock
// confines paths, not these. Capabilities are per thread: the caller
// locks its OS thread and execs from it.
func dropPrivileges() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clearing ambient capabilities: %w", err)
	}
	// Dropping from the bounding set needs CAP_SETPCAP. A daemon without
	// it (its own user, only CAP_NET_BIND_SERVICE) cannot, and need not:
	// with no_new_privs and an empty permitted set, exec grants nothing,
	// not even to uid 0.
	// EINVAL marks the first number past the kernel's last capability.
	for c := 0; c < 64; c++ {
		err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) {
			break
		}
		if err != nil {
			return fmt.Errorf("dropping capability %d from the bounding set: %w", c, err)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var none [2]unix.CapUserData
	if err := unix.Capset(&hdr, &none[0]); err != nil {
		return fmt.Errorf("clearing capabilities: %w", err)
	}
	var left [2]unix.CapUserData
	if err := unix.Capget(&hdr, &left[0]); err != nil {
		return fmt.Errorf("reading capabilities: %w", err)
	}
	if left != none {
		return fmt.Errorf("capabilities left after dropping: %+v", left)
	}
	return nil
}
