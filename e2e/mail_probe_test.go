package e2e

import (
	"fmt"
	"testing"

	"bartleby/internal/mail/mailtest"
	"bartleby/internal/testutil"
)

// TestPrimaryBackTwiceIsFlushedTwice: each time the primary comes back,
// the probe flushes what was deferred to it — also when the outage began
// and ended between two probes, after an earlier outage had been flushed.
// retry_every is far beyond the test, so only the probe can deliver.
func TestPrimaryBackTwiceIsFlushedTwice(t *testing.T) {
	t.Parallel()
	testutil.Need(t, "swaks")
	mx, primary := testutil.FreePort(t), testutil.FreePort(t)
	d := testutil.StartDaemon(t, fmt.Sprintf(`
hostname = "mx2.test"
[mail]
  [mail.backup_mx]
  listen = ["%s"]
  domains = ["example.org"]
  primary = "%s"
  probe_every = "2s"
  retry_every = "1h"
`, mx, primary))
	send := func(subject string) {
		t.Helper()
		if out, err := mailtest.Swaks(t, "--server", mx, "--from", "a@elsewhere.net", "--to", "user@example.org", "--header", "Subject: "+subject); err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
	}
	for outage := 1; outage <= 2; outage++ {
		send(fmt.Sprintf("outage %d", outage))
		mailtest.WaitQueue(t, d, "cannot connect to primary "+primary)
		sink := mailtest.StartSink(t, primary)
		mailtest.WaitEmpty(t, d)
		if n := sink.Messages(); n != 1 {
			t.Fatalf("outage %d: the primary got %d messages", outage, n)
		}
		sink.Stop()
	}
}
