package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"bartleby/internal/mail/mailtest"
	"bartleby/internal/testutil"
)

// TestOnePortForSubmissionAndBackupMX: submission and the backup MX share
// one listener (they used to collide), and the client's address decides,
// as Postfix's mynetworks does: only submit_from relays through the
// smarthost, everyone else may send to the configured domains only.
// submit_from is narrowed to 127.0.0.2 so that 127.0.0.1 and 127.0.0.3 —
// loopback too — must be refused: the rule is the list, not a hard-wired
// loopback test. A long line is taken (and re-encoded) from submit_from
// only, as on the loopback submission listener.
func TestOnePortForSubmissionAndBackupMX(t *testing.T) {
	t.Parallel()
	testutil.Need(t, "swaks")
	dir := t.TempDir()
	ca := mailtest.NewCA(t)
	cert := ca.Issue(t, "smtp.test")
	smarthost := mailtest.StartPeer(t, mailtest.Options{Cert: &cert})
	port := strings.TrimPrefix(testutil.FreePort(t), "127.0.0.1:")
	d := testutil.StartDaemon(t, fmt.Sprintf(`
hostname = "mx2.test"
[mail]
submit = ["127.0.0.1:%[1]s"]
submit_from = ["127.0.0.2"]
  [mail.smarthost]
  host = "%[2]s"
  ca = "%[3]s"
  tls_server_name = "smtp.test"
  [mail.backup_mx]
  listen = ["127.0.0.1:%[1]s"]
  domains = ["example.org"]
  recipients = ["user@example.org"]
  primary = "%[4]s"
`, port, smarthost.Addr, ca.WriteFile(t, dir), testutil.FreePort(t)))

	from := func(local, to, body string) string {
		t.Helper()
		out, _ := mailtest.Swaks(t, "--server", "127.0.0.1", "--port", port, "--local-interface", local,
			"--from", "cron@mx2.test", "--to", to, "--header", "Subject: from "+local, "--body", body)
		return out
	}
	// A 5000-octet line, as cron writes: submission takes it to re-encode,
	// the backup MX refuses it (the sender can resend it encoded).
	long := strings.Repeat("disk usage 93% on /var ", 217) + "end"
	for _, tc := range []struct{ local, to, body, want string }{
		{"127.0.0.2", "victim@example.com", "hi", "250 2.0.0 queued as"},
		{"127.0.0.1", "victim@example.com", "hi", "550 5.7.1 relaying denied"},
		{"127.0.0.3", "victim@example.com", "hi", "550 5.7.1 relaying denied"},
		{"127.0.0.3", "user@example.org", "hi", "250 2.0.0 queued as"},
		{"127.0.0.2", "user@example.org", "hi", "250 2.0.0 queued as"},
		{"127.0.0.3", "user@example.org", long, "554 5.6.0"},
		{"127.0.0.2", "cron-reports@example.com", long, "250 2.0.0 queued as"},
	} {
		if out := from(tc.local, tc.to, tc.body); !strings.Contains(out, tc.want) {
			t.Errorf("from %s to %s (%d octets): want %q in\n%s", tc.local, tc.to, len(tc.body), tc.want, out)
		}
	}
	// Only the 127.0.0.2 messages went to the smarthost, foreign domains
	// included, the long line re-encoded.
	msgs := smarthost.Wait(3, 30*time.Second)
	var got []string
	for _, m := range msgs {
		got = append(got, strings.Join(m.Rcpts, ","))
		if n := longestLine(m.Data); n > 998 {
			t.Errorf("a message to %v went out with a %d-octet line", m.Rcpts, n)
		}
	}
	if all := strings.Join(got, " "); len(msgs) != 3 || !strings.Contains(all, "victim@example.com") || !strings.Contains(all, "cron-reports@example.com") {
		t.Fatalf("the smarthost got %q", got)
	}
	// The 127.0.0.3 message for example.org waits for the primary.
	mailtest.WaitQueue(t, d, "cannot connect to primary")
}
