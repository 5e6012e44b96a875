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
// loopback test.
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

	from := func(local, to string) string {
		t.Helper()
		out, _ := mailtest.Swaks(t, "--server", "127.0.0.1", "--port", port, "--local-interface", local,
			"--from", "cron@mx2.test", "--to", to, "--header", "Subject: from "+local)
		return out
	}
	for _, tc := range []struct{ local, to, want string }{
		{"127.0.0.2", "victim@example.com", "250 2.0.0 queued as"},
		{"127.0.0.1", "victim@example.com", "550 5.7.1 relaying denied"},
		{"127.0.0.3", "victim@example.com", "550 5.7.1 relaying denied"},
		{"127.0.0.3", "user@example.org", "250 2.0.0 queued as"},
		{"127.0.0.2", "user@example.org", "250 2.0.0 queued as"},
	} {
		if out := from(tc.local, tc.to); !strings.Contains(out, tc.want) {
			t.Errorf("from %s to %s: want %q in\n%s", tc.local, tc.to, tc.want, out)
		}
	}
	// Only the 127.0.0.2 messages went to the smarthost, foreign domain included.
	msgs := smarthost.Wait(2, 30*time.Second)
	var got []string
	for _, m := range msgs {
		got = append(got, strings.Join(m.Rcpts, ","))
	}
	if len(msgs) != 2 || !strings.Contains(strings.Join(got, " "), "victim@example.com") {
		t.Fatalf("the smarthost got %q", got)
	}
	// The 127.0.0.3 message for example.org waits for the primary.
	mailtest.WaitQueue(t, d, "cannot connect to primary")
}
