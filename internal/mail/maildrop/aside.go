package maildrop

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// A drop the daemon cannot queue (not a drop at all, no recipients, over
// the size limit, a NUL byte) is set aside as .bad-NAME, with the reason
// in .bad-NAME.why, for an admin to release (after fixing the cause) or
// delete. It is never deleted by bartleby.
const (
	asidePrefix = ".bad-"
	whySuffix   = ".why"
	maxWhy      = 1 << 10
	// maxAside bounds what is listed: the directory may be writable by
	// local users, who could fill it with names.
	maxAside = 1000
)

// Aside is a drop set aside.
type Aside struct {
	Name   string    `json:"name"` // as it was in the maildrop
	UID    uint32    `json:"uid"`  // owner of the file: who dropped it
	Size   int64     `json:"size"`
	Time   time.Time `json:"time"` // when it was dropped
	Reason string    `json:"reason"`
}

// ValidName reports whether s can be a drop's name as Write makes them
// (digits, a dash, lowercase hex), so that names given by an admin cannot
// reach other files, nor be taken for a queue ID (uppercase, no dash).
func ValidName(s string) bool {
	stamp, rnd, ok := strings.Cut(s, "-")
	return ok && len(s) <= 64 && stamp != "" && rnd != "" &&
		strings.Trim(stamp, "0123456789") == "" && strings.Trim(rnd, "0123456789abcdef") == ""
}

// SetAside moves a drop out of the way with the reason it could not be
// queued.
func SetAside(dir, name, reason string) error {
	if err := os.Rename(filepath.Join(dir, name), filepath.Join(dir, asidePrefix+name)); err != nil {
		return fmt.Errorf("maildrop: set aside %s: %w", name, err)
	}
	if len(reason) > maxWhy {
		reason = reason[:maxWhy]
	}
	// O_EXCL: a local user's symlink in its place must not be followed.
	f, err := os.OpenFile(filepath.Join(dir, asidePrefix+name+whySuffix), os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("maildrop: reason for %s: %w", name, err)
	}
	_, err = f.WriteString(reason + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ListAside returns the drops set aside (at most maxAside), oldest first.
func ListAside(dir string) ([]Aside, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Aside
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), asidePrefix)
		if !ok || !ValidName(name) || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		a := Aside{Name: name, Size: info.Size(), Time: info.ModTime(), Reason: readWhy(dir, name)}
		if sys, ok := info.Sys().(*syscall.Stat_t); ok {
			a.UID = sys.Uid
		}
		if out = append(out, a); len(out) == maxAside {
			break
		}
	}
	return out, nil
}

func readWhy(dir, name string) string {
	f, err := os.OpenFile(filepath.Join(dir, asidePrefix+name+whySuffix), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "unknown (no reason recorded)"
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, maxWhy))
	return strings.TrimSpace(string(b))
}

// ErrNoAside is a name that is not set aside.
var ErrNoAside = errors.New("no such drop set aside")

// Release puts a drop set aside back, for the next pickup to try again.
func Release(dir, name string) error {
	if !ValidName(name) {
		return ErrNoAside
	}
	if err := os.Rename(filepath.Join(dir, asidePrefix+name), filepath.Join(dir, name)); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return ErrNoAside
		}
		return fmt.Errorf("maildrop: release %s: %w", name, err)
	}
	os.Remove(filepath.Join(dir, asidePrefix+name+whySuffix))
	return nil
}

// Discard deletes a drop set aside.
func Discard(dir, name string) error {
	if !ValidName(name) {
		return ErrNoAside
	}
	if err := os.Remove(filepath.Join(dir, asidePrefix+name)); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return ErrNoAside
		}
		return fmt.Errorf("maildrop: delete %s: %w", name, err)
	}
	os.Remove(filepath.Join(dir, asidePrefix+name+whySuffix))
	return nil
}
