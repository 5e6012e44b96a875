package e2e

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"bartleby/internal/testutil"
)

// reloadSite is a daemon with the mail relay (submission and backup MX)
// and the SSH server, and what is needed to rewrite its config.
type reloadSite struct {
	d                *testutil.Daemon
	submit, mx, sshd string
	dir, key, pub    string
	// submitFrom is the client of the backup MX port that gets
	// submission (mail.submit_from); the other loopback addresses are
	// remote MTAs to it.
	submitFrom string
}

// config is the site's config with the backup MX taking domains and the
// SSH users given.
func (s *reloadSite) config(domains string, users ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "hostname = \"relay.test\"\n[mail]\nsubmit = [%q]\nsubmit_from = [%q]\nmaildrop = %q\n",
		s.submit, s.submitFrom, filepath.Join(s.dir, "maildrop"))
	// Nothing is delivered here: the smarthost and primary are closed ports.
	fmt.Fprintf(&b, "  [mail.smarthost]\n  host = \"127.0.0.1:9\"\n")
	fmt.Fprintf(&b, "  [mail.backup_mx]\n  listen = [%q]\n  domains = [%s]\n  primary = \"127.0.0.1:9\"\n", s.mx, domains)
	fmt.Fprintf(&b, "[ssh]\nlisten = %q\n", s.sshd)
	for _, u := range users {
		fmt.Fprintf(&b, "  [[ssh.user]]\n  name = %q\n  keys = [%q]\n  root = %q\n", u, s.pub, filepath.Join(s.dir, "home"))
	}
	// The probes connect and leave without logging in, which the
	// defender counts as failures.
	b.WriteString("  [ssh.defender]\n  failures = 100000\n")
	return b.String()
}

func startReloadSite(t *testing.T, domains string, users ...string) *reloadSite {
	t.Helper()
	testutil.Need(t, "ssh-keygen")
	dir := t.TempDir()
	s := &reloadSite{submit: testutil.FreePort(t), mx: testutil.FreePort(t), sshd: testutil.FreePort(t),
		dir: dir, key: filepath.Join(dir, "id_ed25519"), submitFrom: "127.0.0.2"}
	if err := os.Mkdir(filepath.Join(dir, "home"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", s.key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(s.key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	s.pub = strings.TrimSpace(string(pub))
	s.d = testutil.StartDaemon(t, s.config(domains, users...))
	return s
}

// reload writes cfg and sends SIGHUP, then waits for the reload to be
// logged as done.
func (s *reloadSite) reload(t *testing.T, cfg string) {
	t.Helper()
	n := strings.Count(s.d.Logs(), "config reloaded\"")
	if !strings.Contains(cfg, "state_dir") {
		cfg = fmt.Sprintf("state_dir = %q\n", s.d.StateDir) + cfg
	}
	if err := os.WriteFile(s.d.Config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s.d.Signal(syscall.SIGHUP)
	for i := 0; strings.Count(s.d.Logs(), "config reloaded\"") == n; i++ {
		if i > 600 || strings.Contains(s.d.Logs(), "reload") && strings.Contains(s.d.Logs(), "\"level\":\"ERROR\"") {
			t.Fatalf("reload not applied:\n%s", s.d.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// probe connects to addr every 100 ms until stop is closed and counts the
// connections that failed or did not get a greeting starting with want.
type probe struct {
	tries, failures atomic.Int64
	mu              sync.Mutex
	errs            []string
}

func (p *probe) run(addr, want string, stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		p.tries.Add(1)
		if err := greeted(addr, want); err != nil {
			p.failures.Add(1)
			p.mu.Lock()
			if len(p.errs) < 5 {
				p.errs = append(p.errs, err.Error())
			}
			p.mu.Unlock()
		}
	}
}

func greeted(addr, want string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("%s: no greeting: %v", addr, err)
	}
	if !strings.HasPrefix(line, want) {
		return fmt.Errorf("%s: greeting %q", addr, line)
	}
	return nil
}

// smtpSession is a raw SMTP client that answers one command at a time.
type smtpSession struct {
	c net.Conn
	r *bufio.Reader
}

// dialSMTP connects from the loopback address from to addr.
func dialSMTP(t *testing.T, from, addr string) *smtpSession {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s := &smtpSession{c: c, r: bufio.NewReader(c)}
	if r := s.reply(t); !strings.HasPrefix(r, "220") {
		t.Fatalf("greeting %q", r)
	}
	return s
}

// reply reads one (possibly multi-line) reply and returns its last line.
func (s *smtpSession) reply(t *testing.T) string {
	t.Helper()
	s.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading reply: %v", err)
		}
		if len(line) < 4 || line[3] != '-' {
			return strings.TrimSpace(line)
		}
	}
}

func (s *smtpSession) cmd(t *testing.T, line string) string {
	t.Helper()
	if _, err := fmt.Fprintf(s.c, "%s\r\n", line); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return s.reply(t)
}

// TestReloadKeepsPortsOpen: while probes connect to submission, the backup
// MX and SSH every 100 ms, a reload changes [mail] and [ssh] with an idle
// SMTP session open on the MX. No probe is refused or left without a
// greeting; the reload is done while the idle session is still open; that
// session finishes on the config it started with (the domain added is
// refused to it) while a new session gets the new config; so does a
// submission session on the MX port, the port shared by submit_from
// (checkSharedPort).
func TestReloadKeepsPortsOpen(t *testing.T) {
	s := startReloadSite(t, `"example.org"`, "alice")
	idle := dialSMTP(t, "127.0.0.1", s.mx)
	if r := idle.cmd(t, "EHLO idle.test"); !strings.HasPrefix(r, "250") {
		t.Fatalf("EHLO: %q", r)
	}
	local := dialSMTP(t, "127.0.0.2", s.mx)
	if r := local.cmd(t, "EHLO local.test"); !strings.HasPrefix(r, "250") {
		t.Fatalf("EHLO: %q", r)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	probes := map[string]*probe{s.submit: {}, s.mx: {}, s.sshd: {}}
	for addr, p := range probes {
		wg.Add(1)
		want := "220"
		if addr == s.sshd {
			want = "SSH-2.0-"
		}
		go p.run(addr, want, stop, &wg)
	}
	waitTries := func(n int64) {
		for _, p := range probes {
			for p.tries.Load() < n {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	waitTries(5)
	s.submitFrom = "127.0.0.3"
	s.reload(t, s.config(`"example.org", "new.example"`, "alice", "bob"))
	// The reload is logged done while the idle session is still open:
	// the session answers next.
	if r := idle.cmd(t, "MAIL FROM:<someone@elsewhere.test>"); !strings.HasPrefix(r, "250") {
		t.Fatalf("idle session after the reload: MAIL: %q", r)
	}
	if r := idle.cmd(t, "RCPT TO:<user@new.example>"); !strings.HasPrefix(r, "550") {
		t.Errorf("the session open before the reload took a domain of the new config: %q", r)
	}
	if r := idle.cmd(t, "QUIT"); !strings.HasPrefix(r, "221") {
		t.Errorf("QUIT: %q", r)
	}
	fresh := dialSMTP(t, "127.0.0.1", s.mx)
	fresh.cmd(t, "EHLO fresh.test")
	fresh.cmd(t, "MAIL FROM:<someone@elsewhere.test>")
	if r := fresh.cmd(t, "RCPT TO:<user@new.example>"); !strings.HasPrefix(r, "250") {
		t.Errorf("a session opened after the reload refuses the new domain: %q", r)
	}
	checkSharedPort(t, s.mx, local)
	waitTries(probes[s.mx].tries.Load() + 5)
	close(stop)
	wg.Wait()
	for addr, p := range probes {
		t.Logf("%s: %d probes, %d failed", addr, p.tries.Load(), p.failures.Load())
		if p.failures.Load() != 0 {
			t.Errorf("%s: %d of %d probes failed across the reload; the first: %v", addr, p.failures.Load(), p.tries.Load(), p.errs)
		}
	}
	if out, err := s.d.Run("status"); err != nil || !strings.Contains(out, "reload") {
		t.Errorf("status after the reload: %v\n%s", err, out)
	}
	if strings.Contains(s.d.Logs(), "part stopped") {
		t.Errorf("a part was restarted by the reload:\n%s", s.d.Logs())
	}
}

// TestReloadSFTPTransfers: two throttled SFTP downloads of 48 MiB are in
// flight, by alice and by carol, when a reload adds dave and removes
// carol. Alice's download completes with the right checksum; carol's
// connection is closed and that is logged.
func TestReloadSFTPTransfers(t *testing.T) {
	sftpBin := testutil.Need(t, "sftp")
	s := startReloadSite(t, `"example.org"`, "alice", "carol")
	data := make([]byte, 48<<20)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(s.dir, "home", "big.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(data)
	_, port, _ := net.SplitHostPort(s.sshd)

	type download struct {
		file string
		done chan error
		out  *strings.Builder
	}
	get := func(user string) *download {
		dl := &download{file: filepath.Join(t.TempDir(), "big.bin"), done: make(chan error, 1), out: &strings.Builder{}}
		batch := filepath.Join(t.TempDir(), "batch")
		os.WriteFile(batch, []byte("get /big.bin "+dl.file+"\n"), 0o644)
		// -l throttles to 80 Mbit/s: about 5 s for the file, so the
		// transfer is surely under way when the reload comes.
		cmd := exec.Command(sftpBin, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
			"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-i", s.key,
			"-l", "80000", "-P", port, "-b", batch, user+"@127.0.0.1")
		cmd.Stdout, cmd.Stderr = dl.out, dl.out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { dl.done <- cmd.Wait() }()
		return dl
	}
	started := func(dl *download) {
		for {
			if st, err := os.Stat(dl.file); err == nil && st.Size() > 1<<20 {
				return
			}
			select {
			case err := <-dl.done:
				t.Fatalf("download ended before the reload: %v\n%s", err, dl.out)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	alice, carol := get("alice"), get("carol")
	started(alice)
	started(carol)

	s.reload(t, s.config(`"example.org"`, "alice", "dave"))
	select {
	case err := <-alice.done:
		t.Fatalf("alice's download ended before the reload was done (%v): nothing was in flight", err)
	default:
	}

	if err := <-carol.done; err == nil {
		t.Errorf("carol's download completed though carol was removed:\n%s", carol.out)
	}
	if !s.d.WaitLog("user removed from the config: closing their connection", 10*time.Second) {
		t.Error("closing carol's connection was not logged")
	}
	if err := <-alice.done; err != nil {
		t.Fatalf("alice's download failed across the reload: %v\n%s", err, alice.out)
	}
	f, err := os.Open(alice.file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, _ := io.Copy(h, f)
	if got := h.Sum(nil); string(got) != string(want[:]) {
		t.Fatalf("alice's download is corrupt: %d bytes, sha256 %x, want %d bytes %x", n, got, len(data), want)
	}
	// The user added logs in.
	out, err := exec.Command(sftpBin, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-i", s.key,
		"-P", port, "-b", "/dev/null", "dave@127.0.0.1").CombinedOutput()
	if err != nil {
		t.Errorf("dave, added by the reload, cannot log in: %v\n%s", err, out)
	}
}

// checkSharedPort: after a reload moved submit_from from 127.0.0.2 to
// 127.0.0.3, the session local opened from 127.0.0.2 before it is still
// submission (it relays anywhere), while new sessions on the port are
// split by the new list.
func checkSharedPort(t *testing.T, mx string, local *smtpSession) {
	t.Helper()
	relays := func(s *smtpSession) string {
		s.cmd(t, "MAIL FROM:<cron@relay.test>")
		r := s.cmd(t, "RCPT TO:<someone@elsewhere.test>")
		s.cmd(t, "QUIT")
		return r
	}
	if r := relays(local); !strings.HasPrefix(r, "250") {
		t.Errorf("the submission session open on the MX port before the reload: RCPT %q", r)
	}
	for from, want := range map[string]string{"127.0.0.2": "550", "127.0.0.3": "250"} {
		s := dialSMTP(t, from, mx)
		s.cmd(t, "EHLO new.test")
		if r := relays(s); !strings.HasPrefix(r, want) {
			t.Errorf("from %s on the MX port after the reload: RCPT %q, want %s", from, r, want)
		}
	}
}
