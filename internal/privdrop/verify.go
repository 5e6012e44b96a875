package privdrop

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Creds are the identity and capability sets of one thread as the kernel
// reports them in /proc/PID/task/TID/status.
type Creds struct {
	UIDs, GIDs              [4]int // real, effective, saved, filesystem
	Prm, Eff, Inh, Amb, Bnd uint64
	path                    string
}

// Threads reads the credentials of every thread of process pid ("self" for
// this one).
func Threads(pid string) ([]Creds, error) {
	paths, err := filepath.Glob(filepath.Join("/proc", pid, "task", "*", "status"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("reading threads of %s: %v", pid, err)
	}
	var out []Creds
	for _, p := range paths {
		c, err := readStatus(p)
		if os.IsNotExist(err) {
			continue // the thread ended meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Verify checks that every thread runs as uid/gid with only Kept in each
// capability set, bounding set included.
func Verify(uid, gid int) error {
	threads, err := Threads("self")
	if err != nil {
		return err
	}
	for _, c := range threads {
		if err := c.Check(uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// Check reports the first way c differs from uid/gid with only Kept.
func (c Creds) Check(uid, gid int) error {
	for i := range 4 {
		if c.UIDs[i] != uid || c.GIDs[i] != gid {
			return fmt.Errorf("%s: uids %v gids %v, want all %d/%d", c.path, c.UIDs, c.GIDs, uid, gid)
		}
	}
	for name, set := range map[string]uint64{"CapPrm": c.Prm, "CapEff": c.Eff, "CapInh": c.Inh, "CapAmb": c.Amb, "CapBnd": c.Bnd} {
		if set != keptMask {
			return fmt.Errorf("%s: %s %016x, want only CAP_NET_BIND_SERVICE (%016x)", c.path, name, set, keptMask)
		}
	}
	return nil
}

func readStatus(path string) (Creds, error) {
	f, err := os.Open(path)
	if err != nil {
		return Creds{}, err
	}
	defer f.Close()
	c := Creds{path: path}
	sets := map[string]*uint64{"CapPrm": &c.Prm, "CapEff": &c.Eff, "CapInh": &c.Inh, "CapAmb": &c.Amb, "CapBnd": &c.Bnd}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), ":")
		val = strings.TrimSpace(val)
		switch {
		case key == "Uid":
			err = ids(val, &c.UIDs)
		case key == "Gid":
			err = ids(val, &c.GIDs)
		case sets[key] != nil:
			*sets[key], err = strconv.ParseUint(val, 16, 64)
		}
		if err != nil {
			return Creds{}, fmt.Errorf("%s: %s: %w", path, key, err)
		}
	}
	return c, sc.Err()
}

func ids(s string, out *[4]int) error {
	f := strings.Fields(s)
	if len(f) != 4 {
		return fmt.Errorf("want 4 ids, got %q", s)
	}
	for i, v := range f {
		n, err := strconv.Atoi(v)
		if err != nil {
			return err
		}
		out[i] = n
	}
	return nil
}
