package e2e

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"bartleby/internal/testutil"
)

// TestDebianUpgrade runs the package's maintainer scripts for real: dpkg
// installs, upgrades, removes and purges the .deb in a throwaway root R
// (dpkg --root=R --force-script-chrootless, so the scripts run here with
// DPKG_ROOT=R), never on this machine, whose Postfix the package would
// replace. systemd does not run here: stubs of systemctl and
// deb-systemd-invoke record what the scripts ask of it; deb-systemd-helper
// is recorded, then run for real (it writes the enable links into R).
func TestDebianUpgrade(t *testing.T) {
	testutil.NeedRoot(t)
	for _, tool := range []string{"dpkg", "dpkg-deb", "dpkg-statoverride", "systemd-sysusers", "systemd-tmpfiles", "shellcheck"} {
		testutil.Need(t, tool)
	}
	lintScripts(t)
	host := hostState(t)
	t.Cleanup(func() {
		if now := hostState(t); now != host {
			t.Errorf("the test changed this machine: before %s, after %s", host, now)
		}
		if _, err := os.Lstat("/usr/sbin/bartleby"); err == nil {
			t.Error("/usr/sbin/bartleby exists on this machine")
		}
	})

	v1 := buildDeb(t)
	v2 := nextVersion(t, v1)
	r := newRoot(t)

	r.dpkg(t, "--install", v1)
	r.checkInstalled(t)
	if got := r.serviceCalls(t); !slices.Equal(got, []string{"start bartleby.service"}) {
		t.Errorf("install asked systemd for %q, want one start", got)
	}
	if _, err := os.Lstat(r.path("etc/systemd/system/multi-user.target.wants/bartleby.service")); err != nil {
		t.Errorf("install did not enable the unit: %v", err)
	}

	config := r.editConfig(t)
	state := r.simulateState(t)
	r.dpkg(t, "--install", v2)
	if got := r.serviceCalls(t); !slices.Equal(got, []string{"restart bartleby.service"}) {
		t.Errorf("upgrade asked systemd for %q, want one restart and no stop", got)
	}
	r.checkKept(t, config, state)
	r.checkInstalled(t)

	r.checkIdempotent(t)

	r.dpkg(t, "--remove", "bartleby")
	if got := r.serviceCalls(t); !slices.Equal(got, []string{"stop bartleby.service"}) {
		t.Errorf("remove asked systemd for %q, want one stop", got)
	}
	r.checkKept(t, config, state)
	if _, err := os.Lstat(r.path("usr/sbin/bartleby")); err == nil {
		t.Error("remove left /usr/sbin/bartleby")
	}

	r.dpkg(t, "--purge", "bartleby")
	for _, gone := range []string{"var/lib/bartleby", "var/log/bartleby", "etc/bartleby"} {
		if _, err := os.Lstat(r.path(gone)); err == nil {
			t.Errorf("purge left /%s", gone)
		}
	}
}

// lintScripts checks the maintainer scripts as dash parses them and with
// shellcheck (POSIX sh, from their #!/bin/sh).
func lintScripts(t *testing.T) {
	t.Helper()
	var scripts []string
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		scripts = append(scripts, filepath.Join(moduleRoot(t), "dist", s))
		run(t, "sh", "-n", scripts[len(scripts)-1])
	}
	run(t, "shellcheck", scripts...)
}

// hostState is what would show if the package or its scripts had touched
// this machine instead of the throwaway root.
func hostState(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, f := range []string{"/etc/passwd", "/etc/group"} {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s sha256:%x; ", f, sha256.Sum256(body))
	}
	for _, p := range []string{"/usr/sbin/bartleby", "/etc/bartleby", "/var/lib/bartleby", "/var/log/bartleby",
		"/etc/systemd/system/bartleby.service", "/etc/systemd/system/multi-user.target.wants/bartleby.service",
		"/var/lib/systemd/deb-systemd-helper-enabled/bartleby.service.dsh-also", "/var/lib/dpkg/info/bartleby.list"} {
		_, err := os.Lstat(p)
		fmt.Fprintf(&b, "%s exists:%v; ", p, err == nil)
	}
	return b.String()
}

// nextVersion is deb again under a higher version: dpkg sees an upgrade
// of the same contents and scripts. Repacking takes a second; make-deb
// would rebuild the binary and man pages.
func nextVersion(t *testing.T, deb string) string {
	t.Helper()
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	run(t, "dpkg-deb", "--raw-extract", deb, tree)
	control := filepath.Join(tree, "DEBIAN", "control")
	body, err := os.ReadFile(control)
	if err != nil {
		t.Fatal(err)
	}
	version := regexp.MustCompile(`(?m)^Version: (.+)$`)
	m := version.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no Version in %s:\n%s", deb, body)
	}
	body = version.ReplaceAll(body, []byte("Version: ${1}+1"))
	if err := os.WriteFile(control, body, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "bartleby-next.deb")
	run(t, "dpkg-deb", "-Zgzip", "-z1", "--build", tree, out)
	return out
}

// pkgRoot is a throwaway root with its own dpkg database.
type pkgRoot struct {
	dir     string // R
	calls   string // what the stubs recorded, outside R
	pathEnv string // PATH with the stubs first
}

func (r *pkgRoot) path(rel string) string { return filepath.Join(r.dir, rel) }

// newRoot makes R with an empty dpkg database, the base users and groups
// every Debian root has (base-passwd: the package's tmpfiles.d names the
// group adm) and /run/systemd/system, so the scripts act as under systemd.
func newRoot(t *testing.T) *pkgRoot {
	t.Helper()
	r := &pkgRoot{dir: filepath.Join(t.TempDir(), "root")}
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/log", "etc", "run/systemd/system"} {
		if err := os.MkdirAll(r.path(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"var/lib/dpkg/status", "var/lib/dpkg/available"} {
		if err := os.WriteFile(r.path(f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"passwd", "group"} {
		body, err := os.ReadFile("/usr/share/base-passwd/" + f + ".master")
		if err != nil {
			t.Fatalf("base-passwd: %v", err)
		}
		if err := os.WriteFile(r.path("etc/"+f), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.calls, r.pathEnv = r.stubs(t)
	return r
}

// stubs writes systemctl and deb-systemd-invoke, which only record their
// arguments, and a deb-systemd-helper that records, then runs the real
// one, which works on $DPKG_ROOT (and refuses to run without it, which
// would mean this machine).
func (r *pkgRoot) stubs(t *testing.T) (calls, path string) {
	t.Helper()
	helper := testutil.Need(t, "deb-systemd-helper")
	dir := t.TempDir()
	calls = filepath.Join(dir, "calls")
	record := fmt.Sprintf("#!/bin/sh\necho \"${0##*/} $*\" >>%q\n", calls)
	stubs := map[string]string{
		"systemctl":          record,
		"deb-systemd-invoke": record,
		"deb-systemd-helper": record + fmt.Sprintf("[ -n \"$DPKG_ROOT\" ] || exit 97\nexec %q \"$@\"\n", helper),
	}
	for name, body := range stubs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return calls, dir + string(os.PathListSeparator) + os.Getenv("PATH")
}

// dpkg runs dpkg on R, stdin from /dev/null (a prompt fails the run):
//   - --force-script-chrootless: the scripts run here with DPKG_ROOT=R,
//     using this machine's tools, instead of chrooted into R, which has no
//     shell;
//   - --force-depends: R's database is empty, so the Depends (adduser) is
//     not installed there;
//   - --log: dpkg's log is this machine's /var/log/dpkg.log otherwise.
func (r *pkgRoot) dpkg(t *testing.T, args ...string) {
	t.Helper()
	argv := append([]string{"--root=" + r.dir, "--force-script-chrootless", "--force-depends", "--log=" + r.path("var/log/dpkg.log")}, args...)
	cmd := exec.Command("dpkg", argv...)
	cmd.Env = append(os.Environ(), "PATH="+r.pathEnv)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dpkg %s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

// serviceCalls returns what deb-systemd-invoke (start, restart, stop) and
// systemctl (anything but daemon-reload) were asked since the last call,
// and forgets it.
func (r *pkgRoot) serviceCalls(t *testing.T) []string {
	t.Helper()
	body, err := os.ReadFile(r.calls)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	os.Remove(r.calls)
	var got []string
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, "deb-systemd-invoke "); ok {
			got = append(got, rest)
		} else if strings.HasPrefix(line, "systemctl ") && line != "systemctl --system daemon-reload" {
			got = append(got, line)
		}
	}
	return got
}

// id returns the uid or gid of name in R's passwd or group file.
func (r *pkgRoot) id(t *testing.T, file, name string) int {
	t.Helper()
	body, err := os.ReadFile(r.path("etc/" + file))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if f := strings.Split(line, ":"); len(f) > 2 && f[0] == name {
			id, err := strconv.Atoi(f[2])
			if err != nil {
				t.Fatalf("%s in R's %s: %v", name, file, err)
			}
			return id
		}
	}
	t.Fatalf("no %s in R's /etc/%s:\n%s", name, file, body)
	return 0
}

// checkInstalled checks the user, the directories and the config's owner
// and mode the README documents.
func (r *pkgRoot) checkInstalled(t *testing.T) {
	t.Helper()
	uid, gid := r.id(t, "passwd", "bartleby"), r.id(t, "group", "bartleby")
	if uid == 0 || uid >= 1000 {
		t.Errorf("bartleby has uid %d, want a system uid", uid)
	}
	adm := r.id(t, "group", "adm")
	for _, want := range []struct {
		rel      string
		mode     fs.FileMode
		uid, gid int
	}{
		{"var/lib/bartleby", fs.ModeDir | 0o711, uid, gid},
		{"var/log/bartleby", fs.ModeDir | 0o750, uid, adm},
		{"etc/bartleby", fs.ModeDir | 0o750, 0, gid},
		{"etc/bartleby/bartleby.toml", 0o640, 0, gid},
	} {
		r.checkOwner(t, want.rel, want.mode, want.uid, want.gid)
	}
}

func (r *pkgRoot) checkOwner(t *testing.T, rel string, mode fs.FileMode, uid, gid int) {
	t.Helper()
	st, err := os.Lstat(r.path(rel))
	if err != nil {
		t.Error(err)
		return
	}
	sys := st.Sys().(*syscall.Stat_t)
	if st.Mode() != mode || int(sys.Uid) != uid || int(sys.Gid) != gid {
		t.Errorf("/%s: %v %d:%d, want %v %d:%d", rel, st.Mode(), sys.Uid, sys.Gid, mode, uid, gid)
	}
}

// editConfig appends a line to the conffile as an admin would and returns
// the edited file.
func (r *pkgRoot) editConfig(t *testing.T) []byte {
	t.Helper()
	f := r.path("etc/bartleby/bartleby.toml")
	body, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	body = append(body, "# edited by the admin before the upgrade\n"...)
	if err := os.WriteFile(f, body, 0o640); err != nil {
		t.Fatal(err)
	}
	return body
}

// simulateState leaves a queued message (queue/ID.msg and ID.env, as
// internal/mail/queue writes them) and the watch history in the state
// directory, owned by bartleby, and returns a listing of it.
func (r *pkgRoot) simulateState(t *testing.T) string {
	t.Helper()
	uid, gid := r.id(t, "passwd", "bartleby"), r.id(t, "group", "bartleby")
	files := map[string]string{
		"queue/1a2b3c4d.msg": "From: a@example.org\r\nTo: b@example.net\r\n\r\nqueued before the upgrade\r\n",
		"queue/1a2b3c4d.env": `{"from":"a@example.org","to":["b@example.net"]}`,
		"watch/history.json": `{"checks":{}}`,
	}
	for rel, body := range files {
		p := r.path("var/lib/bartleby/" + rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{p, filepath.Dir(p)} {
			if err := os.Lchown(q, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	return listing(t, r.path("var/lib/bartleby"))
}

// checkKept checks that the edited config and the state are as they were.
func (r *pkgRoot) checkKept(t *testing.T, config []byte, state string) {
	t.Helper()
	if got, err := os.ReadFile(r.path("etc/bartleby/bartleby.toml")); err != nil || !bytes.Equal(got, config) {
		t.Errorf("the edited config was not kept byte for byte (%v):\n%s", err, got)
	}
	if got := listing(t, r.path("var/lib/bartleby")); got != state {
		t.Errorf("the state changed:\nbefore:\n%s\nafter:\n%s", state, got)
	}
}

// checkIdempotent runs the installed postinst configure again by hand, as
// dpkg would (a reinstall, dpkg-reconfigure), and checks that R is as it
// was; then that an owner and mode the admin set with dpkg-statoverride
// survive it, and that without the override it puts the documented ones
// back.
func (r *pkgRoot) checkIdempotent(t *testing.T) {
	t.Helper()
	before := listing(t, r.dir)
	r.postinst(t)
	if after := listing(t, r.dir); after != before {
		t.Errorf("postinst configure, run again, changed R:\n%s", diffLines(before, after))
	}

	config := "/etc/bartleby/bartleby.toml"
	run(t, "dpkg-statoverride", "--root", r.dir, "--update", "--add", "root", "root", "0600", config)
	r.postinst(t)
	r.checkOwner(t, "etc/bartleby/bartleby.toml", 0o600, 0, 0)
	run(t, "dpkg-statoverride", "--root", r.dir, "--remove", config)
	r.postinst(t)
	r.checkInstalled(t)
	r.serviceCalls(t)
}

// postinst runs R's installed postinst configure with the environment
// dpkg gives it.
func (r *pkgRoot) postinst(t *testing.T) {
	t.Helper()
	version := strings.TrimSpace(run(t, "dpkg-query", "--admindir="+r.path("var/lib/dpkg"), "-W", "-f", "${Version}", "bartleby"))
	cmd := exec.Command(r.path("var/lib/dpkg/info/bartleby.postinst"), "configure", version)
	cmd.Env = append(os.Environ(), "PATH="+r.pathEnv, "DPKG_ROOT="+r.dir, "DPKG_ADMINDIR="+r.path("var/lib/dpkg"),
		"DPKG_MAINTSCRIPT_PACKAGE=bartleby", "DPKG_MAINTSCRIPT_NAME=postinst")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("postinst configure %s: %v\n%s", version, err, out)
	}
}

// listing is one line per file below dir: path, type and mode, owner,
// and the content's hash or the link's target.
func listing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		sys := st.Sys().(*syscall.Stat_t)
		what := ""
		switch {
		case st.Mode().IsRegular():
			body, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			what = fmt.Sprintf("sha256:%x", sha256.Sum256(body))
		case st.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			what = "-> " + target
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(&b, "%s %v %d:%d %s\n", rel, st.Mode(), sys.Uid, sys.Gid, what)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// diffLines lists the lines only in a (-) and only in b (+).
func diffLines(a, b string) string {
	as, bs := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	for _, l := range as {
		if !slices.Contains(bs, l) {
			out.WriteString("- " + l + "\n")
		}
	}
	for _, l := range bs {
		if !slices.Contains(as, l) {
			out.WriteString("+ " + l + "\n")
		}
	}
	return out.String()
}
