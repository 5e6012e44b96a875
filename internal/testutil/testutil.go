// Package testutil is what the end-to-end tests share: finding the real
// clients they drive, free loopback ports, and starting the built bartleby
// binary on a temporary config.
package testutil

import (
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// InCI reports whether the suite runs in CI, where a missing tool fails.
func InCI() bool { return os.Getenv("CI") == "true" }

// Need returns the path of a command the test drives. When it is missing
// the test fails in CI and is skipped elsewhere: `make test` installs it.
func Need(t testing.TB, cmd string) string {
	t.Helper()
	for _, dir := range []string{"", "/usr/sbin", "/usr/lib/postfix/sbin", "/usr/lib/nagios/plugins"} {
		name := cmd
		if dir != "" {
			name = filepath.Join(dir, cmd)
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if InCI() {
		t.Fatalf("%s is not installed; `make test` as root installs it (scripts/test-deps)", cmd)
	}
	t.Skipf("%s is not installed; run `make test` as root to install it", cmd)
	return ""
}

// NeedRoot stops a test that must run as root (to change users or bind
// low ports): it fails in CI, which runs the suite as root, and is skipped
// elsewhere.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if InCI() {
		t.Fatal("this test needs root; CI runs the suite as root")
	}
	t.Skip("needs root")
}

// handedOut are the ports FreePort returned in this process, so that two
// calls in a row (a test's listener, then the peer it starts) never get
// the same one.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// FreePort returns a loopback TCP address ("127.0.0.1:NNNNN") free now and
// not returned before in this process. The port is drawn at random below
// the kernel's ephemeral range, not asked of the kernel with port 0: the
// kernel hands ephemeral ports to every process's outgoing connections,
// so one just checked free could be taken as the source port of another
// test package's client before the server it was meant for binds it (seen
// as "address already in use" from a Pebble started in parallel).
func FreePort(t testing.TB) string {
	t.Helper()
	lo, hi := portRange()
	for range 1000 {
		port := lo + rand.IntN(hi-lo)
		handedOut.Lock()
		seen := handedOut.ports[port]
		handedOut.ports[port] = true
		handedOut.Unlock()
		if seen {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue // another process's listener
		}
		ln.Close()
		return addr
	}
	t.Fatalf("no free loopback port in %d-%d", lo, hi-1)
	return ""
}

// portRange is where FreePort draws ports: from 20000 up to the first
// ephemeral port (ip_local_port_range, 32768 by default).
func portRange() (lo, hi int) {
	lo, hi = 20000, 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	if f := strings.Fields(string(b)); len(f) == 2 {
		if first, err := strconv.Atoi(f[0]); err == nil && first > lo+1000 {
			hi = first
		}
	}
	return lo, hi
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// Binary returns the bartleby binary under test: $BARTLEBY_BIN (set by
// `make test`), or one built once per test process.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("BARTLEBY_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bartleby-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "bartleby")
		cmd := exec.Command("go", "build", "-o", builtBin, "bartleby/cmd/bartleby")
		cmd.Dir = moduleRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = &buildError{out: string(out), err: err}
		}
	})
	if buildErr != nil {
		t.Fatalf("building bartleby: %v", buildErr)
	}
	return builtBin
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// moduleRoot is the repository root, found from this file's location.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}
