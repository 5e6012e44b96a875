package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bartleby/internal/mail/mailtest"
	"bartleby/internal/testutil"
)

// smarthostRelay is a daemon relaying to a test smarthost over verified STARTTLS
// with AUTH.
type smarthostRelay struct {
	d      *testutil.Daemon
	peer   *mailtest.Peer
	submit string
	ca     *mailtest.CA
	caPath string
}

const relayConfig = `
hostname = "relay.test"
[mail]
qualify_domain = "example.org"
submit = ["%s"]
aliases = "{{dir}}/../aliases"
max_size = "%s"
retry_every = "%s"
give_up_after = "%s"
  [mail.smarthost]
  host = "%s"
  ca = "%s"
  tls_server_name = "smtp.test"
  username = "mta"
  password_file = "{{dir}}/../smarthost.pass"
  timeout = "5s"
`

type smarthostRelayOpts struct {
	maxSize, retry, giveUp string
	peerDown               bool
	rcpt                   func(string) error
	caDir                  bool
}

// startRelay starts a smarthost (unless peerDown) and bartleby relaying to it.
func startRelay(t *testing.T, o smarthostRelayOpts) *smarthostRelay {
	t.Helper()
	testutil.Need(t, "swaks")
	if o.maxSize == "" {
		o.maxSize = "1MB"
	}
	if o.retry == "" {
		o.retry = "30m"
	}
	if o.giveUp == "" {
		o.giveUp = "5d"
	}
	dir := t.TempDir()
	r := &smarthostRelay{ca: mailtest.NewCA(t), submit: testutil.FreePort(t)}
	r.caPath = r.ca.WriteFile(t, dir)
	if o.caDir {
		r.caPath = r.ca.WriteDir(t, dir)
	}
	cert := r.ca.Issue(t, "smtp.test")
	addr := testutil.FreePort(t)
	if !o.peerDown {
		r.peer = mailtest.StartPeer(t, mailtest.Options{Addr: addr, Cert: &cert, Username: "mta", Password: "s3cret", Rcpt: o.rcpt})
	}
	write(t, filepath.Join(dir, "smarthost.pass"), "s3cret\n")
	write(t, filepath.Join(dir, "aliases"), "# test aliases\nroot: ops@example.net\npostmaster: root\nteam: alice,\n  bob@example.net\n")
	cfg := fmt.Sprintf(relayConfig, r.submit, o.maxSize, o.retry, o.giveUp, addr, r.caPath)
	r.d = startIn(t, dir, cfg)
	return r
}

// startIn starts a daemon whose config may name files in dir as
// {{dir}}/../NAME (StartDaemon's own directory is a fresh one inside dir).
func startIn(t *testing.T, dir, cfg string) *testutil.Daemon {
	t.Helper()
	return testutil.StartDaemon(t, strings.ReplaceAll(cfg, "{{dir}}/..", dir))
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func swaks(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return mailtest.Swaks(t, args...)
}

func TestSubmitToSmarthost(t *testing.T) {
	t.Parallel()
	r := startRelay(t, smarthostRelayOpts{caDir: true})
	out, err := swaks(t, "--server", r.submit, "--from", "cron@example.org", "--to", "root@example.org,team@example.org",
		"--header", "Subject: nightly backup")
	if err != nil || !strings.Contains(out, "250 2.0.0 queued as") {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	msgs := r.peer.Wait(1, 30*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("smarthost got %d messages\n%s", len(msgs), r.d.Logs())
	}
	m := msgs[0]
	got := strings.Join(m.Rcpts, " ")
	if got != "ops@example.net alice@example.org bob@example.net" {
		t.Errorf("recipients after aliases: %q", got)
	}
	if !m.TLS || m.Auth != "mta" || m.From != "cron@example.org" {
		t.Errorf("delivery: tls=%v auth=%q from=%q", m.TLS, m.Auth, m.From)
	}
	if !strings.HasPrefix(string(m.Data), "Received: from ") || !strings.Contains(string(m.Data), "Subject: nightly backup") {
		t.Errorf("message:\n%s", m.Data)
	}
	waitEmpty(t, r.d)
	t.Log(r.d.Logs())
}

// waitEmpty waits for delivered messages to leave the queue.
func waitEmpty(t *testing.T, d *testutil.Daemon) {
	t.Helper()
	mailtest.WaitEmpty(t, d)
}

func TestSubmitBadInput(t *testing.T) {
	t.Parallel()
	r := startRelay(t, smarthostRelayOpts{maxSize: "2KB"})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"oversize", []string{"--body", strings.Repeat("x", 70) + strings.Repeat("\n"+strings.Repeat("y", 70), 40)}, "552 5.3.4"},
		{"malformed sender", []string{"--from", "a b@example.org"}, "501"},
	} {
		args := append([]string{"--server", r.submit, "--from", "a@example.org", "--to", "x@example.net"}, tc.args...)
		out, _ := swaks(t, args...)
		if !strings.Contains(out, tc.want) {
			t.Errorf("%s: want %q in\n%s", tc.name, tc.want, out)
		}
	}
	if n := len(r.peer.Messages()); n != 0 {
		t.Errorf("smarthost got %d messages", n)
	}
}

// TestRetryAfterSmarthostReturns: with the smarthost down the message
// stays queued with the reason shown; when it is back, it is delivered.
func TestRetryAfterSmarthostReturns(t *testing.T) {
	t.Parallel()
	r := startRelay(t, smarthostRelayOpts{peerDown: true, retry: "1s"})
	if out, err := swaks(t, "--server", r.submit, "--from", "a@example.org", "--to", "b@example.net"); err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	var out string
	for i := 0; i < 200 && !strings.Contains(out, "cannot connect to smarthost"); i++ {
		time.Sleep(50 * time.Millisecond)
		out, _ = r.d.Run("mail", "queue")
	}
	if !strings.Contains(out, "cannot connect to smarthost") || !strings.Contains(out, "deferred") {
		t.Fatalf("queue does not show why:\n%s", out)
	}
	// The smarthost comes back on the same address.
	var smarthost string
	for _, l := range strings.Split(readFile(t, r.d.Config), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "host =") {
			smarthost = strings.Trim(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "host =")), `"`)
		}
	}
	cert := r.ca.Issue(t, "smtp.test")
	peer := mailtest.StartPeer(t, mailtest.Options{Addr: smarthost, Cert: &cert, Username: "mta", Password: "s3cret"})
	if got := peer.Wait(1, 60*time.Second); len(got) != 1 {
		t.Fatalf("not delivered after the smarthost came back\n%s", r.d.Logs())
	}
	waitEmpty(t, r.d)
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBounces: a 5xx bounces at once, a 4xx past give_up_after bounces;
// each sends one RFC 3464 DSN to the sender, from the null sender.
func TestBounces(t *testing.T) {
	t.Parallel()
	reject := func(addr string) error {
		if strings.HasPrefix(addr, "later@") {
			return mailtest.RejectRcpt("later@", 451)(addr)
		}
		return mailtest.RejectRcpt("nobody@", 550)(addr)
	}
	r := startRelay(t, smarthostRelayOpts{rcpt: reject, retry: "300ms", giveUp: "2s"})
	for _, to := range []string{"nobody@example.net", "later@example.net"} {
		if out, err := swaks(t, "--server", r.submit, "--from", "cron@example.org", "--to", to, "--header", "Subject: to "+to); err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
	}
	msgs := r.peer.Wait(2, 60*time.Second)
	if len(msgs) != 2 {
		t.Fatalf("smarthost got %d messages, want 2 DSNs\n%s", len(msgs), r.d.Logs())
	}
	for _, m := range msgs {
		body := string(m.Data)
		if m.From != "" || m.Rcpts[0] != "cron@example.org" {
			t.Errorf("DSN envelope from=%q to=%v", m.From, m.Rcpts)
		}
		for _, want := range []string{"multipart/report; report-type=delivery-status", "Action: failed", "Reporting-MTA: dns; relay.test", "Content-Type: text/rfc822-headers"} {
			if !strings.Contains(body, want) {
				t.Errorf("DSN lacks %q:\n%s", want, body)
			}
		}
		switch {
		case strings.Contains(body, "Final-Recipient: rfc822; nobody@example.net"):
			if !strings.Contains(body, "Status: 5.0.0") || !strings.Contains(body, "550") {
				t.Errorf("5xx DSN:\n%s", body)
			}
		case strings.Contains(body, "Final-Recipient: rfc822; later@example.net"):
			if !strings.Contains(body, "Status: 4.4.7") || !strings.Contains(body, "gave up after 2s") {
				t.Errorf("give-up DSN:\n%s", body)
			}
		default:
			t.Errorf("unexpected message:\n%s", body)
		}
	}
	waitEmpty(t, r.d)
}

func TestCheckRefusesNonLoopbackSubmit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "b.toml")
	write(t, p, fmt.Sprintf("state_dir = %q\n[mail]\nsubmit = [\"0.0.0.0:2587\"]\n[mail.smarthost]\nhost = \"smtp.example.net:587\"\n", dir+"/state"))
	out, err := exec.Command(testutil.Binary(t), "check", "-c", p).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "mail.submit[1]: \"0.0.0.0:2587\" is not a loopback address") {
		t.Fatalf("check: %v\n%s", err, out)
	}
}
