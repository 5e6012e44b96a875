package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"bartleby/internal/mail/mailtest"
	"bartleby/internal/testutil"
)

// personality links name to the bartleby binary, as /usr/sbin/sendmail is.
func personality(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.Symlink(testutil.Binary(t), p); err != nil {
		t.Fatal(err)
	}
	return p
}

func runAs(t *testing.T, bin, config, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "BARTLEBY_CONFIG="+config)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestSendmailPersonality(t *testing.T) {
	t.Parallel()
	r := startRelay(t, smarthostRelayOpts{})
	sm := personality(t, "sendmail")

	// -t: recipients from the header, Bcc removed, missing fields added.
	msg := "To: alice, Carol <carol@example.net>\nCc: dave@example.net\nBcc: secret@example.net\nSubject: cron\n\nbody line\n.\nafter the dot\n"
	if out, err := runAs(t, sm, r.d.Config, msg, "-t", "-i"); err != nil {
		t.Fatalf("sendmail -t: %v\n%s", err, out)
	}
	m := r.peer.Wait(1, 30*time.Second)
	if len(m) != 1 {
		t.Fatalf("smarthost got %d messages\n%s", len(m), r.d.Logs())
	}
	if got := strings.Join(m[0].Rcpts, " "); got != "alice@example.org carol@example.net dave@example.net secret@example.net" {
		t.Errorf("-t recipients: %q", got)
	}
	data := string(m[0].Data)
	for _, want := range []string{"\r\nDate: ", "\r\nMessage-ID: <", "\r\nFrom: <root@example.org>", "after the dot"} {
		if !strings.Contains(data, want) {
			t.Errorf("message lacks %q:\n%s", want, data)
		}
	}
	if strings.Contains(data, "secret@") {
		t.Errorf("Bcc leaked:\n%s", data)
	}

	// -f and -F; without -i a lone dot ends the message.
	if out, err := runAs(t, sm, r.d.Config, "Subject: dot\n\nbefore\n.\nafter\n", "-f", "backup@example.org", "-F", "Backup Job", "ops@example.net"); err != nil {
		t.Fatalf("sendmail -f: %v\n%s", err, out)
	}
	m = r.peer.Wait(2, 30*time.Second)
	if len(m) != 2 || m[1].From != "backup@example.org" {
		t.Fatalf("sendmail -f: %+v", m)
	}
	data = string(m[1].Data)
	if !strings.Contains(data, `From: "Backup Job" <backup@example.org>`) || strings.Contains(data, "after") {
		t.Errorf("-F or the dot:\n%s", data)
	}

	// -bs: an SMTP session on stdin and stdout.
	session := "EHLO cron.local\r\nMAIL FROM:<bs@example.org>\r\nRCPT TO:<ops@example.net>\r\nDATA\r\nSubject: bs\r\n\r\nhi\r\n.\r\nQUIT\r\n"
	out, err := runAs(t, sm, r.d.Config, session, "-bs")
	if err != nil || !strings.Contains(out, "250 2.0.0 queued as") || !strings.Contains(out, "221") {
		t.Fatalf("sendmail -bs: %v\n%s", err, out)
	}
	if m = r.peer.Wait(3, 30*time.Second); len(m) != 3 {
		t.Fatalf("-bs message not delivered")
	}

	// mailq and -bp list the queue; no recipients is a usage error.
	waitEmpty(t, r.d)
	if out, err := runAs(t, personality(t, "mailq"), r.d.Config, ""); err != nil || !strings.Contains(out, "Mail queue is empty") {
		t.Errorf("mailq: %v\n%s", err, out)
	}
	out, err = runAs(t, sm, r.d.Config, "Subject: x\n\n")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 64 || !strings.Contains(out, "no recipients") {
		t.Errorf("no recipients: %v\n%s", err, out)
	}
}

// TestSendmailDaemonDown: with the daemon stopped the message goes to the
// maildrop (exit 0), and the daemon delivers it when it starts.
func TestSendmailDaemonDown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := mailtest.NewCA(t)
	cert := ca.Issue(t, "127.0.0.1")
	peer := mailtest.StartPeer(t, mailtest.Options{Cert: &cert})
	drop := filepath.Join(dir, "maildrop")
	cfg := fmt.Sprintf("hostname = \"relay.test\"\n[mail]\nqualify_domain = \"example.org\"\nsubmit = [%q]\nmaildrop = %q\n[mail.smarthost]\nhost = %q\nca = %q\n",
		testutil.FreePort(t), drop, peer.Addr, ca.WriteFile(t, dir))
	conf := filepath.Join(dir, "b.toml")
	write(t, conf, "state_dir = \""+filepath.Join(dir, "state")+"\"\n"+cfg)
	out, err := runAs(t, personality(t, "sendmail"), conf, "Subject: while down\n\nhello\n", "-v", "root")
	if err != nil || !strings.Contains(out, "maildrop") {
		t.Fatalf("sendmail with the daemon down: %v\n%s", err, out)
	}
	drops, _ := filepath.Glob(filepath.Join(drop, "*"))
	if len(drops) != 1 {
		t.Fatalf("maildrop holds %v", drops)
	}
	d := testutil.StartDaemon(t, cfg)
	m := peer.Wait(1, 30*time.Second)
	if len(m) != 1 || m[0].Rcpts[0] != "root@example.org" || !strings.Contains(string(m[0].Data), "Subject: while down") {
		t.Fatalf("smarthost got %+v\n%s", m, d.Logs())
	}
	if drops, _ := filepath.Glob(filepath.Join(drop, "*")); len(drops) != 0 {
		t.Errorf("maildrop not emptied: %v", drops)
	}
}

// TestSendmailUnprivileged: a user without access to state_dir submits
// through the loopback listener; the config needs only to be readable.
func TestSendmailUnprivileged(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("switching to nobody needs root")
	}
	r := startRelay(t, smarthostRelayOpts{})
	pub, err := os.MkdirTemp("", "bartleby-public")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pub) })
	os.Chmod(pub, 0o755)
	conf := filepath.Join(pub, "b.toml")
	write(t, conf, readFile(t, r.d.Config))
	os.Chmod(conf, 0o644)
	bin := filepath.Join(pub, "sendmail")
	b, _ := os.ReadFile(testutil.Binary(t))
	os.WriteFile(bin, b, 0o755)

	cmd := exec.Command(bin, "-t")
	cmd.Env = []string{"BARTLEBY_CONFIG=" + conf, "PATH=/usr/bin:/bin"}
	cmd.Stdin = strings.NewReader("To: ops@example.net\nSubject: from nobody\n\nhi\n")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sendmail as nobody: %v\n%s", err, out)
	}
	m := r.peer.Wait(1, 30*time.Second)
	if len(m) != 1 || m[0].From != "nobody@example.org" || !strings.Contains(string(m[0].Data), "From: <nobody@example.org>") {
		t.Fatalf("smarthost got %+v", m)
	}
}

// TestSubmitFloodUsesMaildrop: a local user holding 100 idle sessions on
// the submission port takes every slot (the rest get 421) but no more of
// the daemon's file descriptors; sendmail meanwhile falls back to the
// maildrop, and the message is delivered.
func TestSubmitFloodUsesMaildrop(t *testing.T) {
	t.Parallel()
	r := newRelay(t)
	r.start(t)
	greeting := func() string {
		c, err := net.Dial("tcp", r.submit)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		return line
	}
	for i := range 100 {
		if line := greeting(); !strings.HasPrefix(line, "220") {
			t.Fatalf("session %d: %q", i+1, line)
		}
	}
	if line := greeting(); !strings.HasPrefix(line, "421") {
		t.Fatalf("session 101: %q", line)
	}
	if out, err := r.sendmail(t, "Subject: while busy\n\nx\n", "-v", "ops@example.net"); err != nil || !strings.Contains(out, "maildrop") {
		t.Fatalf("sendmail: %v\n%s", err, out)
	}
	if m := r.peer.Wait(1, 20*time.Second); len(m) != 1 || !strings.Contains(string(m[0].Data), "Subject: while busy") {
		t.Fatalf("smarthost got %+v", m)
	}
}
