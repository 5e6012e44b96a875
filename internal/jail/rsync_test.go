package jail

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testJail is a user root with a writable mount /data and a read-only
// mount /www.
func testJail(t testing.TB) (*Jail, string) {
	t.Helper()
	return testJailWith(t, DefaultPerms)
}

func testJailWith(t testing.TB, perms Perms) (*Jail, string) {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"root", "data", "www"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	j, err := Open("alice", []Mount{
		{Path: "/", Dir: filepath.Join(dir, "root")},
		{Path: "/data", Dir: filepath.Join(dir, "data")},
		{Path: "/www", Dir: filepath.Join(dir, "www"), ReadOnly: true},
	}, perms, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j, dir
}

func TestCheckRsyncAccepts(t *testing.T) {
	t.Parallel()
	j, dir := testJail(t)
	root := filepath.Join(dir, "root")
	// {server} is what bartleby appends after the client's options.
	for _, tc := range []struct {
		cmd, want  string
		dir        string
		sender, rw bool
	}{
		{cmd: "rsync --server -logDtpre.iLsfxCIvu --stats . backup/", dir: root, rw: true,
			want: "-logDtpre.iLsfxCIvu --stats {server} . backup/"},
		{cmd: "rsync --server --sender -logDtpre.iLsfxCIvu . backup/", dir: root, sender: true,
			want: "--sender -logDtpre.iLsfxCIvu {server} . backup/"},
		{cmd: "rsync --server -rlptDe.iLsfxCIvu --delete-during --partial-dir=.rsync-partial . /data/x", dir: filepath.Join(dir, "data"), rw: true,
			want: "-rlptDe.iLsfxCIvu --delete-during --partial-dir=.rsync-partial {server} . x"},
		{cmd: `rsync --server --sender -re.iLsfxCIvu . /www/a\ b /www/c`, dir: filepath.Join(dir, "www"), sender: true,
			want: "--sender -re.iLsfxCIvu {server} . a b c"},
		{cmd: "rsync --server -vrte.iLsfxCIvu --bwlimit 100 . /", dir: root, rw: true,
			want: "-vrte.iLsfxCIvu --bwlimit=100 {server} . ./"},
		{cmd: "rsync --server --sender -rze.iLsfxCIvu --compress-level=19 --compress-threads 2 --remove-source-files . x", dir: root, sender: true, rw: true,
			want: "--sender -rze.iLsfxCIvu --compress-level=19 --compress-threads=2 --remove-source-files {server} . x"},
		{cmd: "rsync --server --sender -vRe.LsfxCIvu --files-from=- --from0 . /", dir: root, sender: true,
			want: "--sender -vRe.LsfxCIvu --files-from=- --from0 {server} . ./"},
		{cmd: "rsync --server -e.iLsfxCIvu -B1024 -@-1 --recursive . x", dir: root, rw: true,
			want: "-e.iLsfxCIvu -B1024 -@-1 --recursive {server} . x"},
		// rsync reads options after the ".": a path that looks like one
		// must stay a path, or it would undo the server's options.
		{cmd: "rsync --server -rtpe.iLsfxCIvu . --chmod=u+s", dir: root, rw: true,
			want: "-rtpe.iLsfxCIvu {server} . ./--chmod=u+s"},
		{cmd: "rsync --server --sender -re.iLsfxCIvu . -X --no-munge-links -L", dir: root, sender: true,
			want: "--sender -re.iLsfxCIvu {server} . ./-X ./--no-munge-links ./-L"},
	} {
		p, err := j.CheckRsync(tc.cmd, RsyncOptions{Owner: true})
		if err != nil {
			t.Errorf("%s: %v", tc.cmd, err)
			continue
		}
		server := "--confine-root=" + tc.dir + " --munge-links"
		if !tc.sender {
			server += " --chmod=a-st,g-w,o-w --drop-D --no-super"
		}
		want := "rsync --server " + strings.Replace(tc.want, "{server} .", server+" -- .", 1)
		if got := strings.Join(p.Args, " "); got != want {
			t.Errorf("%s:\n got %s\nwant %s", tc.cmd, got, want)
		}
		if p.Dir != tc.dir || p.Sender != tc.sender || p.Writable != tc.rw {
			t.Errorf("%s: plan %+v", tc.cmd, p)
		}
	}
}

// TestRsyncShortLongAgree checks every option with a short letter: the
// letter alone, inside a cluster and the long form get the same verdict,
// for users with and without rsync_owner.
func TestRsyncShortLongAgree(t *testing.T) {
	t.Parallel()
	j, _ := testJail(t)
	for _, opt := range rsyncOptionTable {
		if opt.short == 0 || opt.value != noValue {
			continue
		}
		for _, owner := range []bool{false, true} {
			o := RsyncOptions{Owner: owner}
			_, longErr := j.CheckRsync("rsync --server --"+opt.long+" . x", o)
			for _, cluster := range []string{"-" + string(opt.short), "-r" + string(opt.short) + "te.iLsfxCIvu"} {
				_, shortErr := j.CheckRsync("rsync --server "+cluster+" . x", o)
				if (longErr == nil) != (shortErr == nil) {
					t.Errorf("owner=%v: --%s gives %v but %s gives %v", owner, opt.long, longErr, cluster, shortErr)
				}
			}
			wantOK := opt.rule == allowed || opt.rule == ownerOnly && owner
			if (longErr == nil) != wantOK {
				t.Errorf("owner=%v: --%s: %v, want allowed=%v", owner, opt.long, longErr, wantOK)
			}
		}
	}
}

func TestCheckRsyncRefuses(t *testing.T) {
	t.Parallel()
	j, _ := testJail(t)
	for _, cmd := range []string{
		"rsync --server --log-file=/tmp/x . /",
		"rsync --server --log-file /tmp/x . /",
		"rsync --server -vre.iLsfxCIvu --temp-dir=/tmp . x",
		"rsync --server -vre.iLsfxCIvu --backup-dir=../../x . x",
		"rsync --server -vre.iLsfxCIvu --files-from=/etc/passwd . x",
		"rsync --server -vre.iLsfxCIvu --write-devices . x",
		"rsync --server -vre.iLsfxCIvu --copy-devices . x",
		"rsync --server --daemon .",
		"rsync --server --config=/etc/rsyncd.conf . x",
		"rsync --server --rsync-path=/bin/sh . x",
		"rsync --server --no-such-option . x",
		"rsync --server -vrLe.iLsfxCIvu . x",
		"rsync --server -rlptXe.iLsfxCIvu . x", // xattrs: security.capability
		"rsync --server -rlptAe.iLsfxCIvu . x", // ACLs
		"rsync --server -X . x",
		"rsync --server -A . x",
		"rsync --server --xattrs . x",
		"rsync --server --acls . x",
		"rsync --server --super -r . x",
		"rsync --server --no-super -r . x",
		"rsync --server --drop-D -r . x",
		"rsync --server --chmod=u+s -r . x",
		"rsync --server -vrke.iLsfxCIvu . x",
		"rsync --server -vrKe.iLsfxCIvu . x",
		"rsync --server -rie.iLsfxCIvu . x", // letters outside rrsync's set
		"rsync --server -rPe.iLsfxCIvu . x",
		"rsync --server -rTe.iLsfxCIvu . x",
		"rsync --server -re.iLs-X . x", // the capability string is letters only
		"rsync --server -rB . x",
		"rsync --server -rB1024 . x",
		"rsync --server -Bx . x",
		"rsync --server - . x",
		"rsync --server --insecure-links -r . x",
		"rsync --server -se.iLsfxCIvu . x",
		"rsync --server -vre.iLsfxCIvu . ../../etc",
		"rsync --server -vre.iLsfxCIvu . /data/../../etc",
		"rsync --server --sender -vre.iLsfxCIvu . x /data/y",
		"rsync --server -vre.iLsfxCIvu . /www/x",
		"rsync --server -vre.iLsfxCIvu . a b",
		"rsync --server -vre.iLsfxCIvu . ",
		"rsync --server -vre.iLsfxCIvu x",
		"rsync --server -logDtpre.iLsfxCIvu . x", // -o -g without rsync_owner
		"rsync --server --chown=0:0 -vre.iLsfxCIvu . x",
		"rsync --server -vre.iLsfxCIvu --max-alloc=0 . x",
		"rsync --server -vre.iLsfxCIvu --confine-root=/ . x",
		"rsync --server -vr . x; rm -rf /",
		"rsync --server -vr . 'x'",
		"sh -c rsync",
		"rsync --daemon --server . x",
		"rsync --server -vr . x\\",
		"rsync --server --sender -vrz --compress-level=22 . x", // zstd ultra: ~700 MB
		"rsync --server --sender -vrz --compress-level 20 . x",
		"rsync --server --sender -vrz --compress-threads=200 . x",
		"rsync --server --sender -vr --timeout=1h . x",
		"rsync --server --sender -vr --files-from=list . x",
		"rsync --server --sender -vr --files-from ./- . x",
		"rsync --server --sender -vr --max-delete=x . x",
		"rsync --server --sender --remove-source-files -vr . /www/x", // a read-only mount
	} {
		if p, err := j.CheckRsync(cmd, RsyncOptions{}); err == nil {
			t.Errorf("%q accepted: %q", cmd, p.Args)
		} else if !errors.Is(err, ErrRsync) {
			t.Errorf("%q: error %v does not wrap ErrRsync", cmd, err)
		}
	}
	if _, err := j.CheckRsync("rsync --server -vre.iLsfxCIvu . x", RsyncOptions{ReadOnly: true}); err == nil {
		t.Error("read-only user may push")
	}
	if _, err := j.CheckRsync("rsync --server --sender --remove-source-files -vre.iLsfxCIvu . x", RsyncOptions{ReadOnly: true}); err == nil {
		t.Error("read-only user may remove files by pulling")
	}
	if _, err := j.CheckRsync("rsync --server --sender -vre.iLsfxCIvu . x", RsyncOptions{ReadOnly: true}); err != nil {
		t.Errorf("read-only user may not pull: %v", err)
	}
}

// TestRsyncPathsThroughPlantedLinks: links planted on the host (as root,
// say: a user cannot make them) that lead out are refused in any path
// argument rsync would follow them in, issue 12 item 3.
func TestRsyncPathsThroughPlantedLinks(t *testing.T) {
	t.Parallel()
	j, dir := testJail(t)
	root := filepath.Join(dir, "root")
	os.Symlink("/etc", filepath.Join(root, "planted"))
	os.Symlink("../www", filepath.Join(root, "climbs"))
	os.Mkdir(filepath.Join(root, "sub"), 0o755)
	os.Symlink("sub", filepath.Join(root, "ok"))
	pull := "rsync --server --sender -rlte.iLsfxCIvu . "
	push := "rsync --server -rlte.iLsfxCIvu . "
	for _, cmd := range []string{
		pull + "planted/passwd", pull + "planted/", pull + "climbs/x",
		pull + "pl*/passwd", pull + "planted/pass*", pull + "ok/ planted/passwd",
		pull + "sub/*/x", pull + `sub/\\a*`, pull + "sub/*/",
		push + "planted", push + "planted/", push + "planted/new/dir", push + "climbs",
	} {
		if p, err := j.CheckRsync(cmd, RsyncOptions{}); err == nil {
			t.Errorf("%q accepted: %q", cmd, p.Args)
		}
	}
	for _, cmd := range []string{
		pull + "planted", pull + "planted/.", // cleaned to "planted": the link itself, not followed
		pull + "ok/", pull + "ok/x", pull + "sub/*.txt", pull + "*",
		push + "ok/", push + "new/dir/x", push + ".",
	} {
		if _, err := j.CheckRsync(cmd, RsyncOptions{}); err != nil {
			t.Errorf("%q: %v", cmd, err)
		}
	}
}

func TestRoute(t *testing.T) {
	t.Parallel()
	j, _ := testJail(t)
	for in, want := range map[string]string{
		"/": "/:.", "": "/:.", "a/b": "/:a/b", "/data": "/data:.", "/data/x/../y": "/data:y",
		"/datax": "/:datax", "/www2/a": "/:www2/a", "../../etc/passwd": "/:etc/passwd",
		"/www/../data/z": "/data:z", "%2e%2e/x": "/:%2e%2e/x",
	} {
		m, rel, err := j.route(in)
		if err != nil {
			t.Errorf("route(%q): %v", in, err)
			continue
		}
		if got := m.Path + ":" + rel; got != want {
			t.Errorf("route(%q) = %s, want %s", in, got, want)
		}
	}
	if _, _, err := j.route("a\x00b"); err == nil {
		t.Error("NUL accepted")
	}
}

func FuzzCheckRsync(f *testing.F) {
	j, _ := testJail(f)
	for _, s := range []string{
		"rsync --server -logDtpre.iLsfxCIvu --stats . backup/",
		"rsync --server --sender -vre.iLsfxCIvu . /www/a\\ b /data/c",
		"rsync --server --log-file=/tmp/x . /",
		"rsync --server -vre.iLsfxCIvu --partial-dir=.p . ../x",
		"rsync --server -rlptXe.iLsfxCIvu . x",
		"rsync --server -B1024 -@-1 -rAe.iLsfxCIvu . x",
		"rsync --server -rtpe.iLsfxCIvu . --chmod=u+s",
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, cmd string, owner bool) {
		p, err := j.CheckRsync(cmd, RsyncOptions{Owner: owner})
		if err != nil {
			return
		}
		if p.Args[0] != "rsync" || p.Args[1] != "--server" {
			t.Fatalf("bad argv %q", p.Args)
		}
		dot := -1
		for i, a := range p.Args {
			if a == "." {
				dot = i
				break
			}
		}
		if dot < 0 {
			t.Fatalf("no . in %q", p.Args)
		}
		server := append(serverOptions(p), "--")
		if dot < 2+len(server) || strings.Join(p.Args[dot-len(server):dot], " ") != strings.Join(server, " ") {
			t.Fatalf("server options not last before the dot: %q", p.Args)
		}
		for _, a := range p.Args[2 : dot-len(server)] {
			for _, opt := range spelledOptions(a) {
				if opt == nil || opt.rule == refused || opt.rule == ownerOnly && !owner {
					t.Fatalf("option %q passed for owner=%v: %q", a, owner, p.Args)
				}
			}
		}
		for _, a := range p.Args[dot+1:] {
			if strings.HasPrefix(a, "/") || hasDotDot(a) {
				t.Fatalf("path %q escapes in %q", a, p.Args)
			}
			if strings.HasPrefix(a, "-") {
				t.Fatalf("path %q would be read as an option in %q", a, p.Args)
			}
		}
		if !owner && strings.Contains(strings.Join(p.Args, " "), "--chown") {
			t.Fatal("--chown without owner")
		}
	})
}

// spelledOptions names the table entries an argument spells, reading it
// independently of checkShort: every letter of a cluster up to the
// capability string ("e" followed by digits and a dot).
func spelledOptions(a string) []*rsyncOption {
	if name, ok := strings.CutPrefix(a, "--"); ok {
		name, _, _ = strings.Cut(name, "=")
		return []*rsyncOption{rsyncLong[name]}
	}
	var opts []*rsyncOption
	for i := 1; i < len(a); i++ {
		if a[i] == 'e' && strings.Contains(a[i:], ".") {
			break
		}
		opt := rsyncShort[a[i]]
		opts = append(opts, opt)
		if opt != nil && opt.value != noValue {
			break
		}
	}
	return opts
}

func FuzzRoute(f *testing.F) {
	j, _ := testJail(f)
	for _, s := range []string{"/", "../..", "/data/../www", "/www/x/../../data", "a//b/./c", "/datax/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		m, rel, err := j.route(p)
		if err != nil {
			return
		}
		if rel != "." && (strings.HasPrefix(rel, "/") || hasDotDot(rel)) {
			t.Fatalf("route(%q) rel %q escapes", p, rel)
		}
		full := Clean(p)
		if !Within(full, m.Path) {
			t.Fatalf("route(%q) gave mount %s", p, m.Path)
		}
		// The deepest mount wins.
		for _, other := range j.mounts {
			if len(other.Path) > len(m.Path) && Within(full, other.Path) {
				t.Fatalf("route(%q) gave %s, not the deeper %s", p, m.Path, other.Path)
			}
		}
	})
}
