package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"bartleby/internal/privdrop"
	"bartleby/internal/testutil"
)

// lowPort returns a loopback address on a port below 1024 that is free now.
func lowPort(t *testing.T) string {
	t.Helper()
	for port := 900 + os.Getpid()%100; port > 600; port-- {
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr
		}
	}
	t.Fatal("no free port below 1024")
	return ""
}

func nobody(t *testing.T) *privdrop.User {
	t.Helper()
	u, err := privdrop.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestServeUserDropsPrivileges: started as root with --user, every thread
// runs as that user with only CAP_NET_BIND_SERVICE, files it writes belong
// to it, and a reload still binds a port below 1024.
func TestServeUserDropsPrivileges(t *testing.T) {
	u := nobody(t)
	addr1, addr2 := lowPort(t), ""
	d := testutil.StartDaemonAs(t, "nobody", fmt.Sprintf("[admin]\nlisten = %q\n", addr1))
	if strings.Contains(d.Logs(), "running as root") {
		t.Error("warned about root although --user was given")
	}
	threads, err := privdrop.Threads(strconv.Itoa(d.Cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range threads {
		if err := c.Check(u.UID, u.GID); err != nil {
			t.Error(err)
		}
	}
	st, err := os.Stat(d.StateDir)
	if err != nil || int(st.Sys().(*syscall.Stat_t).Uid) != u.UID {
		t.Fatalf("state_dir not made for nobody: %v %v", st, err)
	}
	sock, err := os.Stat(filepath.Join(d.StateDir, "control.sock"))
	if err != nil || sock.Mode().Perm() != 0o660 || int(sock.Sys().(*syscall.Stat_t).Gid) != u.GID {
		t.Fatalf("control socket: %v %v; want 0660, group %d", sock.Mode(), err, u.GID)
	}

	addr2 = lowPort(t) // not addr1: the daemon holds it
	if err := os.WriteFile(d.Config, []byte(fmt.Sprintf("state_dir = %q\n[admin]\nlisten = %q\n", d.StateDir, addr2)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := d.Run("reload")
	if err != nil {
		t.Fatalf("reload to %s as nobody: %v\n%s", addr2, err, out)
	}
	c, err := net.DialTimeout("tcp", addr2, 5*time.Second)
	if err != nil {
		t.Fatalf("after reload nothing listens on %s: %v", addr2, err)
	}
	c.Close()
}

// TestRootWithoutUserWarns: the quickstart as root keeps working, with one
// warning naming the risk and the fix.
func TestRootWithoutUserWarns(t *testing.T) {
	testutil.NeedRoot(t)
	d := testutil.StartDaemon(t, fmt.Sprintf("[admin]\nlisten = %q\n", testutil.FreePort(t)))
	if n := strings.Count(d.Logs(), "running as root"); n != 1 {
		t.Fatalf("%d root warnings, want 1:\n%s", n, d.Logs())
	}
	if !strings.Contains(d.Logs(), `user = \"bartleby\"`) {
		t.Errorf("the warning does not name the fix:\n%s", d.Logs())
	}
}

// TestBadPrivilegeInput: each mistake is one line naming what to change,
// and the daemon exits before listening on anything.
func TestBadPrivilegeInput(t *testing.T) {
	testutil.NeedRoot(t)
	setpriv := testutil.Need(t, "setpriv")
	bin := testutil.Binary(t)
	u := nobody(t)
	cases := []struct {
		name   string
		prefix []string // command before bartleby
		args   []string
		setup  func(state string)
		want   string
	}{
		{name: "unknown user", args: []string{"--user", "no-such-user-bartleby"}, want: `no user "no-such-user-bartleby" on this system`},
		{name: "state_dir of another user", args: []string{"--user", "nobody"},
			setup: func(state string) { os.Mkdir(state, 0o700) },
			want:  "belongs to uid 0, not to the daemon's uid " + strconv.Itoa(u.UID)},
		{name: "low port without the capability",
			prefix: []string{setpriv, "--reuid", strconv.Itoa(u.UID), "--regid", strconv.Itoa(u.GID), "--clear-groups", "--inh-caps", "-all", "--bounding-set", "-all"},
			setup:  func(state string) { os.Mkdir(state, 0o700); os.Chown(state, u.UID, u.GID) },
			want:   "ports below 1024 need CAP_NET_BIND_SERVICE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.Chmod(dir, 0o755)
			os.Chmod(filepath.Dir(dir), 0o755)
			state := filepath.Join(dir, "state")
			if tc.setup != nil {
				tc.setup(state)
			}
			web := lowPort(t)
			cfg := filepath.Join(dir, "bartleby.toml")
			body := fmt.Sprintf("state_dir = %q\n[admin]\nlisten = %q\n", state, web)
			if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			argv := append(append(tc.prefix, bin, "serve", "-c", cfg), tc.args...)
			out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
			if err == nil {
				t.Fatalf("serve started:\n%s", out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("want %q in:\n%s", tc.want, out)
			}
			if strings.Contains(string(out), "part started") {
				t.Errorf("something started before the error:\n%s", out)
			}
			if _, err := os.Stat(filepath.Join(state, "control.sock")); err == nil {
				t.Error("the control socket was left behind")
			}
		})
	}
}
