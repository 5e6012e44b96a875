// Package jail is a user's view of the filesystem for the SSH server: their
// root seen as "/", plus mounts (like `mount --bind`), each optionally
// read-only. Every access goes through an os.Root per directory, so the
// kernel resolves paths below it and neither "..", absolute symlinks nor
// symlinks planted by anyone can lead outside.
package jail

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/pkg/sftp"
)

// Mount shows host directory Dir at the virtual path Path ("/" is the
// user's root).
type Mount struct {
	Path     string
	Dir      string
	ReadOnly bool
}

// ErrDenied is returned for anything that would leave the jail or write
// where the user may not; the SFTP client sees "permission denied".
var ErrDenied error = sftp.ErrSSHFxPermissionDenied

// Jail is one user's filesystem view. It is safe for concurrent use.
type Jail struct {
	user   string
	perms  Perms
	mounts []*mount // longest path first, so the deepest mount wins
	log    *slog.Logger
	// handles counts the SFTP files and directories open (MaxHandles).
	handles handleBudget
}

type mount struct {
	Mount
	root *os.Root
}

// Open opens every mount's directory. mounts must contain "/".
func Open(user string, mounts []Mount, perms Perms, log *slog.Logger) (*Jail, error) {
	j := &Jail{user: user, perms: perms, log: log}
	for _, m := range mounts {
		r, err := os.OpenRoot(m.Dir)
		if err != nil {
			j.Close()
			return nil, fmt.Errorf("jail for %s: mount %s: %w", user, m.Path, err)
		}
		m.Path = Clean(m.Path)
		j.mounts = append(j.mounts, &mount{Mount: m, root: r})
	}
	sort.SliceStable(j.mounts, func(a, b int) bool { return len(j.mounts[a].Path) > len(j.mounts[b].Path) })
	if len(j.mounts) == 0 || j.mounts[len(j.mounts)-1].Path != "/" {
		j.Close()
		return nil, fmt.Errorf("jail for %s: no root directory", user)
	}
	return j, nil
}

// Close releases the mounts' directories.
func (j *Jail) Close() error {
	for _, m := range j.mounts {
		m.root.Close()
	}
	return nil
}

// Clean is the one normalisation of a client path: absolute, cleaned, with
// ".." stopping at "/". Everything routes on its result, so no second
// normalisation can disagree with it.
func Clean(p string) string {
	return path.Clean("/" + p)
}

// Within reports whether p is dir or below it, on directory boundaries:
// "/www2" is not within "/www". Both must be cleaned.
func Within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// route finds the mount holding the virtual path p and p relative to it
// ("." for the mount point itself).
func (j *Jail) route(p string) (*mount, string, error) {
	if strings.IndexByte(p, 0) >= 0 {
		return nil, "", ErrDenied
	}
	p = Clean(p)
	for _, m := range j.mounts {
		if Within(p, m.Path) {
			rel := strings.TrimPrefix(strings.TrimPrefix(p, m.Path), "/")
			if rel == "" {
				rel = "."
			}
			return m, rel, nil
		}
	}
	return nil, "", ErrDenied // unreachable: "/" routes everything
}

// writable routes p and refuses read-only mounts and mount points, which
// cannot be removed, renamed or replaced.
func (j *Jail) writable(p string) (*mount, string, error) {
	m, rel, err := j.route(p)
	if err != nil {
		return nil, "", err
	}
	if m.ReadOnly {
		return nil, "", fmt.Errorf("%s is read-only: %w", Clean(p), ErrDenied)
	}
	if rel == "." {
		return nil, "", fmt.Errorf("%s is a mount point: %w", Clean(p), ErrDenied)
	}
	return m, rel, nil
}

// samemount routes two paths that one operation (rename, link) touches;
// they must be in the same writable mount, as across filesystems.
func (j *Jail) samemount(from, to string) (*mount, string, string, error) {
	m1, r1, err := j.writable(from)
	if err != nil {
		return nil, "", "", err
	}
	m2, r2, err := j.writable(to)
	if err != nil {
		return nil, "", "", err
	}
	if m1 != m2 {
		return nil, "", "", fmt.Errorf("%s and %s are on different mounts: %w", Clean(from), Clean(to), ErrDenied)
	}
	return m1, r1, r2, nil
}

// mountsIn lists the mount points directly inside the virtual directory
// dir, so a listing shows them as bind mounts would.
func (j *Jail) mountsIn(dir string) []*mount {
	var out []*mount
	for _, m := range j.mounts {
		if m.Path != "/" && path.Dir(m.Path) == dir {
			out = append(out, m)
		}
	}
	return out
}

// audit logs one operation: who, what, where, how many bytes, and how it
// ended.
func (j *Jail) audit(op, p string, bytes int64, err error) {
	attrs := []any{"event", "ssh.sftp", "user", j.user, "op", op, "path", p}
	if bytes >= 0 {
		attrs = append(attrs, "bytes", bytes)
	}
	if err != nil {
		j.log.Warn("sftp", append(attrs, "err", err.Error())...)
		return
	}
	j.log.Info("sftp", attrs...)
}

// isEscape reports whether err is os.Root refusing a path that leads out.
func isEscape(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}

// denyEscape turns os.Root's escape error into a permission error, which
// is what the client should see, and keeps other errors.
func denyEscape(err error) error {
	if isEscape(err) {
		return fmt.Errorf("outside the jail: %w", ErrDenied)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		// Drop the host path: the user sees only their virtual one.
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
