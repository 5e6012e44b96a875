package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"bartleby/internal/sshd/passwd"
	"bartleby/internal/testutil"
)

// site is a running bartleby with two users: alice (key, a read-only
// /www mount, rsync with owners) and bob (password, rsync without owners,
// read-only).
type site struct {
	d        *testutil.Daemon
	addr     string
	port     string
	key      string // alice's private key file
	dir      string // test directory: root/, www/, outside/
	password string
}

func startSite(t *testing.T, extra string) *site {
	t.Helper()
	testutil.Need(t, "ssh-keygen")
	dir := t.TempDir()
	for _, d := range []string{"alice", "bob", "www", "outside"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	key := filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	hash, err := passwd.Hash("bob-secret")
	if err != nil {
		t.Fatal(err)
	}
	addr := testutil.FreePort(t)
	_, port, _ := net.SplitHostPort(addr)
	cfg := fmt.Sprintf(`
[ssh]
listen = %q
%s
  [[ssh.user]]
  name = "alice"
  keys = [%q]
  root = "%[4]s/alice"
  mounts = { "/www" = { dir = "%[4]s/www", read_only = true } }
  rsync = true
  rsync_owner = true
  [[ssh.user]]
  name = "bob"
  password = %q
  root = "%[4]s/bob"
  rsync = true
  read_only = true
`, addr, extra, strings.TrimSpace(string(pub)), dir, hash)
	d := testutil.StartDaemon(t, cfg)
	return &site{d: d, addr: addr, port: port, key: key, dir: dir, password: "bob-secret"}
}

func (s *site) sshOpts() []string {
	return []string{"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-i", s.key}
}

// sftpBatch runs OpenSSH sftp -b with the script as alice.
func (s *site) sftpBatch(t *testing.T, script string) (string, error) {
	t.Helper()
	sftpBin := testutil.Need(t, "sftp")
	bf := filepath.Join(t.TempDir(), "batch")
	os.WriteFile(bf, []byte(script), 0o644)
	args := append(s.sshOpts(), "-P", s.port, "-b", bf, "alice@127.0.0.1")
	cmd := exec.Command(sftpBin, args...)
	cmd.Dir = s.dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// ssh runs OpenSSH ssh as alice with extra arguments.
func (s *site) ssh(t *testing.T, args ...string) (string, error) {
	t.Helper()
	sshBin := testutil.Need(t, "ssh")
	all := append(append(s.sshOpts(), "-p", s.port, "-T"), args...)
	cmd := exec.Command(sshBin, all...)
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// logHas reports whether one JSON log line has all the given fields.
func logHas(d *testutil.Daemon, want map[string]string) bool {
	for _, line := range d.LogLines() {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		ok := true
		for k, v := range want {
			if fmt.Sprint(m[k]) != v {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func TestSFTPBatch(t *testing.T) {
	t.Parallel()
	s := startSite(t, "")
	os.WriteFile(filepath.Join(s.dir, "local.txt"), []byte("hello jail\n"), 0o644)
	os.WriteFile(filepath.Join(s.dir, "www", "index.html"), []byte("<h1>www</h1>"), 0o644)
	// Interrupted transfers to resume: half an upload on the server, half a
	// download here.
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10)
	os.WriteFile(filepath.Join(s.dir, "big"), big, 0o644)
	os.WriteFile(filepath.Join(s.dir, "alice", "big"), big[:len(big)/2], 0o644)
	os.WriteFile(filepath.Join(s.dir, "alice", "down"), big, 0o644)
	os.WriteFile(filepath.Join(s.dir, "down"), big[:1000], 0o644)
	out, err := s.sftpBatch(t, `
reput big big
reget down down
df /
ln big big-hard
put local.txt
mkdir docs
rename local.txt docs/note.txt
chmod 600 docs/note.txt
ln -s note.txt docs/link
ls -l docs
get docs/link fetched.txt
get /www/index.html index.html
put local.txt tmp.txt
rm tmp.txt
mkdir gone
rmdir gone
`)
	if err != nil {
		t.Fatalf("sftp batch failed: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(s.dir, "alice", "big")); !bytes.Equal(b, big) {
		t.Errorf("reput: %d bytes on the server, want %d", len(b), len(big))
	}
	if b, _ := os.ReadFile(filepath.Join(s.dir, "down")); !bytes.Equal(b, big) {
		t.Errorf("reget: %d bytes here, want %d", len(b), len(big))
	}
	if a, err := os.Stat(filepath.Join(s.dir, "alice", "big-hard")); err != nil || !os.SameFile(a, mustStat(t, filepath.Join(s.dir, "alice", "big"))) {
		t.Errorf("hard link not made: %v", err)
	}
	if !strings.Contains(out, "Avail") {
		t.Errorf("df (statvfs) gave no figures:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(s.dir, "fetched.txt")); string(b) != "hello jail\n" {
		t.Errorf("get through the symlink gave %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(s.dir, "index.html")); string(b) != "<h1>www</h1>" {
		t.Errorf("get from the mount gave %q", b)
	}
	st, err := os.Stat(filepath.Join(s.dir, "alice", "docs", "note.txt"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("note.txt: %v %v", st, err)
	}
	// OpenSSH sends SSH_FXP_SYMLINK arguments reversed; the link must
	// still be docs/link -> note.txt.
	if target, _ := os.Readlink(filepath.Join(s.dir, "alice", "docs", "link")); target != "note.txt" {
		t.Errorf("symlink docs/link -> %q, want note.txt", target)
	}
	for _, gone := range []string{"tmp.txt", "gone", "local.txt"} {
		if _, err := os.Stat(filepath.Join(s.dir, "alice", gone)); err == nil {
			t.Errorf("%s still exists", gone)
		}
	}
	if !logHas(s.d, map[string]string{"msg": "sftp", "user": "alice", "op": "put", "path": "/local.txt", "bytes": "11"}) {
		t.Error("no audit line for the upload")
	}
}

func mustStat(t *testing.T, p string) os.FileInfo {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestSFTPEscapes(t *testing.T) {
	t.Parallel()
	s := startSite(t, "")
	alice := filepath.Join(s.dir, "alice")
	os.WriteFile(filepath.Join(s.dir, "outside", "secret"), []byte("secret"), 0o644)
	os.WriteFile(filepath.Join(alice, "mine"), []byte("mine"), 0o644)
	os.WriteFile(filepath.Join(s.dir, "www", "page"), []byte("page"), 0o644)
	// Planted by someone else: a link out of the jail.
	os.Symlink(filepath.Join(s.dir, "outside"), filepath.Join(alice, "planted"))
	os.WriteFile(filepath.Join(s.dir, "up.txt"), []byte("upload"), 0o644)
	out, _ := s.sftpBatch(t, `
-get ../../etc/passwd p1
-get /etc/passwd p2
-get %2e%2e/%2e%2e/etc/passwd p3
-get ../outside/secret p4
-get planted/secret p5
-ls planted/
-put up.txt planted/dropped
-ln -s /etc etc
-ln -s ../../outside out
-ln -s ../outside/secret sec
-rename mine ../../outside/moved
-ln mine /www/hard
-rename mine /www/moved
-put up.txt /www/new
-mkdir /www/dir
-rm /www/page
-chmod 777 /www/page
`)
	for _, want := range []string{
		`File "/etc/passwd" not found`,               // ../../ and / stay inside
		`File "/%2e%2e/%2e%2e/etc/passwd" not found`, // no URL decoding
		`File "/../outside/secret" not found`,
		`File "/planted/secret" not found`, // the planted link is not followed
		`dest open "/planted/dropped": Permission denied`,
		`remote symlink file "/etc" to "/etc": Permission denied`,
		`remote symlink file "../../outside" to "/out": Permission denied`,
		`remote symlink file "../outside/secret" to "/sec": Permission denied`,
		`Permission denied`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in sftp output:\n%s", want, out)
		}
	}
	for _, f := range []string{"p1", "p2", "p3", "p4", "p5"} {
		if _, err := os.Stat(filepath.Join(s.dir, f)); err == nil {
			t.Errorf("%s was downloaded", f)
		}
	}
	// Nothing changed outside or in the read-only mount; mine is still there
	// (a rename "out" lands inside the jail at /outside/moved at most).
	if entries, _ := os.ReadDir(filepath.Join(s.dir, "outside")); len(entries) != 1 {
		t.Errorf("outside directory changed: %v", entries)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.dir, "www")); len(entries) != 1 {
		t.Errorf("read-only mount changed: %v", entries)
	}
	if b, _ := os.ReadFile(filepath.Join(s.dir, "www", "page")); string(b) != "page" {
		t.Error("read-only file changed")
	}
	if !logHas(s.d, map[string]string{"op": "put", "path": "/planted/dropped", "err": "outside the jail: permission denied"}) {
		t.Error("the refused write through the planted link is not audited")
	}
	for _, l := range []string{"etc", "out", "sec"} {
		if _, err := os.Lstat(filepath.Join(alice, l)); err == nil {
			t.Errorf("symlink %s was made", l)
		}
	}
}

func TestRsync(t *testing.T) {
	t.Parallel()
	testutil.Need(t, "rsync")
	s := startSite(t, "")
	src := filepath.Join(s.dir, "src")
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	for i := range 20 {
		os.WriteFile(filepath.Join(src, "sub", fmt.Sprintf("f%02d", i)), bytes.Repeat([]byte{byte(i)}, 1000*i), 0o644)
	}
	os.Symlink("/etc/passwd", filepath.Join(src, "abs-link"))
	os.Symlink("sub/f01", filepath.Join(src, "rel-link"))
	os.WriteFile(filepath.Join(src, "suid"), []byte("x"), 0o644)
	os.Chmod(filepath.Join(src, "suid"), 0o4755)
	e := "ssh -p " + s.port + " " + strings.Join(s.sshOpts(), " ")
	rsync := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("rsync", append([]string{"-e", e}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("rsync %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	rsync("-a", src+"/", "alice@127.0.0.1:backup/")
	got := filepath.Join(s.dir, "alice", "backup")
	if out, err := exec.Command("diff", "-r", "--no-dereference", "-x", "*-link", src, got).CombinedOutput(); err != nil {
		t.Fatalf("push differs: %s", out)
	}
	// Symlinks are stored munged, harmless to whatever else reads the jail.
	for link, want := range map[string]string{"abs-link": "/rsyncd-munged//etc/passwd", "rel-link": "/rsyncd-munged/sub/f01"} {
		if target, _ := os.Readlink(filepath.Join(got, link)); target != want {
			t.Errorf("stored %s -> %q, want %q", link, target, want)
		}
	}
	if st, _ := os.Stat(filepath.Join(got, "suid")); st == nil || st.Mode()&os.ModeSetuid != 0 {
		t.Errorf("setuid bit kept in the jail: %v", st)
	}
	out := rsync("-a", "--stats", src+"/", "alice@127.0.0.1:backup/")
	if !strings.Contains(out, "Number of regular files transferred: 0") {
		t.Errorf("second run transferred files:\n%s", out)
	}
	os.Remove(filepath.Join(src, "sub", "f03"))
	rsync("-a", "--delete", src+"/", "alice@127.0.0.1:backup/")
	if _, err := os.Stat(filepath.Join(got, "sub", "f03")); err == nil {
		t.Error("--delete did not delete")
	}
	pulled := filepath.Join(s.dir, "pulled")
	rsync("-a", "alice@127.0.0.1:backup/", pulled+"/")
	if out, err := exec.Command("diff", "-r", "--no-dereference", src, pulled).CombinedOutput(); err != nil {
		t.Fatalf("pull differs from the source (links must come back unmunged): %s", out)
	}
	// A path out of the jail and a push into the read-only mount.
	for _, dst := range []string{"alice@127.0.0.1:../../", "alice@127.0.0.1:/www/"} {
		out, err := exec.Command("rsync", "-e", e, "-a", src+"/", dst).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "rsync refused") {
			t.Errorf("rsync to %s: %v\n%s", dst, err, out)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(s.dir, "www")); len(entries) != 0 {
		t.Errorf("read-only mount written: %v", entries)
	}
	// A symlink planted in the jail by someone else, pointing out: pulling
	// through it reads nothing (confine-root and Landlock both stop it).
	os.WriteFile(filepath.Join(s.dir, "outside", "secret"), []byte("secret"), 0o644)
	os.Symlink(filepath.Join(s.dir, "outside"), filepath.Join(s.dir, "alice", "planted"))
	stolen := filepath.Join(s.dir, "stolen")
	for _, src := range []string{"alice@127.0.0.1:planted/", "alice@127.0.0.1:planted/secret"} {
		out, err := exec.Command("rsync", "-e", e, "-a", src, stolen+"/").CombinedOutput()
		if err == nil {
			t.Errorf("pull of %s succeeded:\n%s", src, out)
		}
	}
	if b, err := os.ReadFile(filepath.Join(stolen, "secret")); err == nil {
		t.Errorf("secret pulled through a planted link: %q", b)
	}
}

func TestRefusedCommands(t *testing.T) {
	t.Parallel()
	s := startSite(t, "")
	logFile := filepath.Join(s.dir, "outside", "rsync.log")
	for _, tc := range []struct{ cmd, want string }{
		{"rsync --server --log-file=" + logFile + " . /", "--log-file writes a server file"},
		{"rsync --server -vre.iLsfxCIvu . ../../../etc", "must stay inside"},
		{"rsync --server --sender -vrLe.iLsfxCIvu . /", "-L (--copy-links) follows links out of the tree"},
		{"cat /etc/passwd", "no commands here"},
		{"sh -c id", "no commands here"},
	} {
		out, err := s.ssh(t, "alice@127.0.0.1", tc.cmd)
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("ssh %q: %v, output %q; want refusal %q", tc.cmd, err, out, tc.want)
		}
	}
	if _, err := os.Stat(logFile); err == nil {
		t.Error("--log-file was written")
	}
	// A shell, with or without a tty.
	out, err := s.ssh(t, "alice@127.0.0.1")
	if err == nil || !strings.Contains(out, "shell request failed") {
		t.Errorf("shell: %v %q", err, out)
	}
	// Remote forwarding is refused at once.
	out, err = s.ssh(t, "-N", "-o", "ExitOnForwardFailure=yes", "-R", "0:127.0.0.1:9", "alice@127.0.0.1")
	if err == nil || !strings.Contains(out, "forwarding failed") {
		t.Errorf("ssh -R: %v %q", err, out)
	}
}

// TestLocalForwardRefused: with ssh -N -L a connection to the forwarded
// port must not reach the target.
func TestLocalForwardRefused(t *testing.T) {
	t.Parallel()
	s := startSite(t, "")
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	reached := make(chan struct{}, 1)
	go func() {
		if c, err := target.Accept(); err == nil {
			reached <- struct{}{}
			c.Close()
		}
	}()
	local := testutil.FreePort(t)
	sshBin := testutil.Need(t, "ssh")
	args := append(s.sshOpts(), "-p", s.port, "-N", "-L", local+":"+target.Addr().String(), "alice@127.0.0.1")
	cmd := exec.Command(sshBin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if !s.d.WaitLog(`"msg":"login"`, 10*time.Second) {
		t.Fatal("ssh -N -L did not log in")
	}
	var c net.Conn
	for range 100 {
		if c, err = net.Dial("tcp", local); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("ssh did not listen on %s: %v", local, err)
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, _ := c.Read(make([]byte, 1))
	c.Close()
	if n != 0 {
		t.Error("read data through a refused forward")
	}
	if !s.d.WaitLog(`"type":"direct-tcpip"`, 10*time.Second) {
		t.Error("no log of the refused direct-tcpip channel")
	}
	select {
	case <-reached:
		t.Error("the forward reached the target")
	default:
	}
}

// TestPasswordBruteForce drives password logins with the Go client (no
// sshpass here): the connection is cut after max_auth_tries failures and
// the address is then blocked, even for the right password.
func TestPasswordBruteForce(t *testing.T) {
	t.Parallel()
	s := startSite(t, "  [ssh.defender]\n  failures = 3\n  block_for = \"10m\"\n")
	login := func(pw func(try int) string) (int, error) {
		tries := 0
		cfg := &ssh.ClientConfig{
			User: "bob",
			Auth: []ssh.AuthMethod{ssh.RetryableAuthMethod(ssh.PasswordCallback(func() (string, error) {
				tries++
				return pw(tries), nil
			}), 10)},
			HostKeyCallback: ssh.InsecureIgnoreHostKey(),
			Timeout:         20 * time.Second,
		}
		c, err := ssh.Dial("tcp", s.addr, cfg)
		if err == nil {
			c.Close()
		}
		return tries, err
	}
	// The right password works (and is read-only bob's).
	if _, err := login(func(int) string { return s.password }); err != nil {
		t.Fatalf("right password refused: %v", err)
	}
	tries, err := login(func(int) string { return "wrong" })
	if err == nil {
		t.Fatal("wrong password accepted")
	}
	if tries != 3 {
		t.Errorf("the server allowed %d password tries, want 3 (max_auth_tries); the 4th is cut", tries)
	}
	if !s.d.WaitLog(`address blocked after repeated failed logins`, 10*time.Second) {
		t.Fatal("the address was not blocked")
	}
	if _, err := login(func(int) string { return s.password }); err == nil {
		t.Error("blocked address logged in")
	}
	if !s.d.WaitLog(`connection refused: address blocked`, 10*time.Second) {
		t.Error("no log of the refused connection")
	}
	out, err := s.d.Run("sftp", "blocked")
	if err != nil || !strings.Contains(out, "127.0.0.1") {
		t.Errorf("sftp blocked: %v\n%s", err, out)
	}
	if out, err := s.d.Run("sftp", "unblock", "127.0.0.1"); err != nil || !strings.Contains(out, "127.0.0.1 unblocked") {
		t.Errorf("sftp unblock: %v\n%s", err, out)
	}
	if _, err := login(func(int) string { return s.password }); err != nil {
		t.Errorf("unblocked address refused: %v", err)
	}
	if !logHas(s.d, map[string]string{"msg": "login failed", "user": "bob", "addr": "127.0.0.1", "method": "password"}) {
		t.Error("failed logins are not logged with user, address and method")
	}
}

// TestReadOnlyRsyncUser: bob may pull but not push.
func TestReadOnlyRsyncUser(t *testing.T) {
	t.Parallel()
	s := startSite(t, "")
	os.WriteFile(filepath.Join(s.dir, "bob", "report.txt"), []byte("report"), 0o644)
	cfg := &ssh.ClientConfig{User: "bob", Auth: []ssh.AuthMethod{ssh.Password(s.password)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 20 * time.Second}
	c, err := ssh.Dial("tcp", s.addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	run := func(cmd string) (string, error) {
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		out, err := sess.CombinedOutput(cmd)
		return string(out), err
	}
	out, err := run("rsync --server -rlptDe.iLsfxCIvu . x")
	if err == nil || !strings.Contains(out, "read-only") {
		t.Errorf("read-only push: %v %q", err, out)
	}
	out, err = run("rsync --server -logDtpre.iLsfxCIvu . x")
	if err == nil || !strings.Contains(out, "rsync_owner = false") {
		t.Errorf("-o/-g without rsync_owner: %v %q", err, out)
	}
}

// TestCLI: `bartleby sftp hash-password` makes a hash that logs in, and
// `bartleby check` locates a bad [ssh] section by line.
func TestCLI(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(testutil.Binary(t), "sftp", "hash-password")
	cmd.Stdin = strings.NewReader("s3cret pass\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hash-password: %v", err)
	}
	hash := strings.TrimSpace(string(out))
	if !passwd.Verify(hash, "s3cret pass") || passwd.Verify(hash, "s3cret") {
		t.Fatalf("hash-password printed %q, which does not verify", hash)
	}
	cmd = exec.Command(testutil.Binary(t), "sftp", "hash-password")
	cmd.Stdin = strings.NewReader("\n")
	if err := cmd.Run(); err == nil {
		t.Error("an empty password was hashed")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "b.toml")
	os.WriteFile(cfg, []byte("state_dir = \""+dir+"\"\n[ssh]\nlisten = \"127.0.0.1:2222\"\n  [[ssh.user]]\n  name = \"x\"\n  password = \"plain\"\n  root = \""+dir+"\"\n"), 0o600)
	out, err = exec.Command(testutil.Binary(t), "check", "-c", cfg).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "b.toml:6: ssh.user[1].password: not a supported password hash") {
		t.Errorf("check: %v\n%s", err, out)
	}
}
