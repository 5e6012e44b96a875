package jail

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkg/sftp"
)

// TestSymlinkRenameEscape is issue 12's first sequence: a link that
// climbed exactly to the jail's top was allowed, and renaming its
// directory higher up made it climb out.
func TestSymlinkRenameEscape(t *testing.T) {
	t.Parallel()
	cl, dir := sftpClient(t)
	if err := cl.MkdirAll("/d/a/b/c/d/e"); err != nil {
		t.Fatal(err)
	}
	if err := cl.Symlink("../../../../../../etc/passwd", "/d/a/b/c/d/e/pw"); !isDenied(err) {
		t.Errorf("climbing link: %v, want permission denied", err)
	}
	if err := cl.Rename("/d/a/b/c/d/e", "/esc"); err != nil {
		t.Fatal(err)
	}
	assertLinksInside(t, dir)
}

// TestSymlinkThroughLinkEscape is issue 12's second sequence: a target
// checked as text, climbing through a link to "." that the check did not
// resolve.
func TestSymlinkThroughLinkEscape(t *testing.T) {
	t.Parallel()
	cl, dir := sftpClient(t)
	if err := cl.MkdirAll("/c"); err != nil {
		t.Fatal(err)
	}
	if err := cl.Symlink(".", "/c/s"); err != nil {
		t.Fatalf("a link to its own directory stays inside: %v", err)
	}
	target := strings.Repeat("s/", 8) + strings.Repeat("../", 9) + "etc/passwd"
	if err := cl.Symlink(target, "/c/pw"); !isDenied(err) {
		t.Errorf("link climbing through a link: %v, want permission denied", err)
	}
	assertLinksInside(t, dir)
}

// TestSymlinkSequences is the property: any sequence of mkdir, symlink,
// rename, hard link and remove through the SFTP handlers leaves no link
// in a mount that resolves outside that mount's directory, as any program
// on the host would resolve it.
func TestSymlinkSequences(t *testing.T) {
	t.Parallel()
	const sequences, steps = 150, 40
	for seed := range uint64(sequences) {
		cl, dir := sftpClient(t)
		rng := rand.New(rand.NewPCG(seed, 12))
		var log []string
		for range steps {
			log = append(log, randomOp(cl, rng))
		}
		if t.Failed() {
			return
		}
		if !assertLinksInside(t, dir) {
			t.Fatalf("seed %d, operations:\n%s", seed, strings.Join(log, "\n"))
		}
	}
}

func randomPath(rng *rand.Rand) string {
	p := []string{"", "/data"}[rng.IntN(2)]
	for range 1 + rng.IntN(4) {
		p += "/" + []string{"a", "b", "s", "d"}[rng.IntN(4)]
	}
	return p
}

func randomTarget(rng *rand.Rand) string {
	var parts []string
	for range 1 + rng.IntN(7) {
		parts = append(parts, []string{"..", ".", "a", "b", "s", "d", ""}[rng.IntN(7)])
	}
	t := strings.Join(parts, "/")
	if rng.IntN(8) == 0 {
		t = "/" + t
	}
	return t
}

// randomOp runs one random operation; its errors are expected (missing
// parents, refused targets) and only its effect on the tree matters.
func randomOp(cl *sftp.Client, rng *rand.Rand) string {
	a, b := randomPath(rng), randomPath(rng)
	switch rng.IntN(7) {
	case 0, 1:
		cl.MkdirAll(a)
		return "mkdir -p " + a
	case 2, 3:
		t := randomTarget(rng)
		cl.Symlink(t, a)
		return "symlink " + t + " " + a
	case 4:
		cl.PosixRename(a, b)
		return "rename " + a + " " + b
	case 5:
		cl.Link(a, b)
		return "link " + a + " " + b
	default:
		cl.Remove(a)
		return "remove " + a
	}
}

// assertLinksInside walks the test jail's writable directories from the
// host and checks that every symlink resolves inside the directory that
// holds it (its mount), as realpath(3) would resolve it.
func assertLinksInside(t *testing.T, dir string) bool {
	t.Helper()
	ok := true
	for _, d := range []string{"root", "data"} {
		top := filepath.Join(dir, d)
		filepath.WalkDir(top, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			if reached, inside := resolveWithin(top, p); !inside {
				target, _ := os.Readlink(p)
				t.Errorf("link %s -> %q resolves to %s, outside %s", strings.TrimPrefix(p, dir), target, reached, top)
				ok = false
			}
			return nil
		})
	}
	return ok
}

// resolveWithin resolves p component by component as the kernel would,
// also where the final file is missing (where filepath.EvalSymlinks would
// only fail), and reports the first place outside top it reaches.
func resolveWithin(top, p string) (string, bool) {
	hops := 0
	var walk func(cur string, rest []string) (string, bool)
	walk = func(cur string, rest []string) (string, bool) {
		for _, c := range rest {
			switch c {
			case "", ".":
				continue
			case "..":
				cur = filepath.Dir(cur)
			default:
				cur = filepath.Join(cur, c)
			}
			if cur != top && !strings.HasPrefix(cur, top+"/") {
				return cur, false
			}
			target, err := os.Readlink(cur)
			if err != nil {
				continue // not a link, or missing: nothing to follow
			}
			if hops++; hops > 40 {
				return cur, true // a loop (ELOOP): resolves nowhere
			}
			base := filepath.Dir(cur)
			if filepath.IsAbs(target) {
				base = "/"
			}
			reached, ok := walk(base, strings.Split(target, "/"))
			if !ok {
				return reached, false
			}
			cur = reached
		}
		return cur, true
	}
	return walk(filepath.Dir(p), []string{filepath.Base(p)})
}
