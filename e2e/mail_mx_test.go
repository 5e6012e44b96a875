package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bartleby/internal/mail/mailtest"
	"bartleby/internal/testutil"
)

const mxConfig = `
hostname = "mx2.test"
[mail]
max_size = "20KB"
  [mail.backup_mx]
  listen = ["%s"]
  domains = ["example.org", ".sub.example.net"]
  primary = "%s"
  probe_every = "300ms"
  max_recipients = 3
`

// startSink runs Postfix's smtp-sink as the primary MX, dumping messages
// into a directory.
func startSink(t *testing.T, addr string) string {
	t.Helper()
	return mailtest.StartSink(t, addr).Dir
}

func TestBackupMX(t *testing.T) {
	t.Parallel()
	testutil.Need(t, "swaks")
	mx, primary := testutil.FreePort(t), testutil.FreePort(t)
	d := testutil.StartDaemon(t, fmt.Sprintf(mxConfig, mx, primary))

	// STARTTLS offered and used; mail for a listed domain accepted.
	out, err := swaks(t, "--server", mx, "--tls", "--from", "someone@elsewhere.net", "--to", "user@example.org", "--header", "Subject: while primary is down")
	if err != nil || !strings.Contains(out, "STARTTLS") || !strings.Contains(out, "250 2.0.0 queued as") {
		t.Fatalf("swaks --tls: %v\n%s", err, out)
	}
	if out, err := swaks(t, "--server", mx, "--from", "a@elsewhere.net", "--to", "x@deep.sub.example.net"); err != nil {
		t.Fatalf("subdomain: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"foreign domain", []string{"--to", "victim@example.com"}, "550 5.7.1 relaying denied"},
		{"parent of a dotted domain", []string{"--to", "x@sub.example.net"}, "550 5.7.1 relaying denied"},
		{"oversize", []string{"--to", "user@example.org", "--body", strings.Repeat(strings.Repeat("x", 70)+"\n", 400)}, "552 5.3.4"},
		{"too many recipients", []string{"--to", "a@example.org,b@example.org,c@example.org,d@example.org"}, "452 4.5.3"},
		// Relay tricks (README "Backup MX"): sender-specified routing that a
		// primary might honour, a domain that only ends like a listed one,
		// a source route naming us in front of a foreign address.
		{"percent hack", []string{"--to", "u%victim.example.com@example.org"}, "550 5.7.1 relaying denied: sender-specified routing"},
		{"bang path", []string{"--to", "victim.example.com!u@example.org"}, "550 5.7.1 relaying denied: sender-specified routing"},
		{"suffix trick", []string{"--to", "u@victim.example.com!.sub.example.net"}, "553 5.1.3 malformed recipient"},
		{"empty label", []string{"--to", "u@x..sub.example.net"}, "553 5.1.3 malformed recipient"},
		{"source route", []string{"--to", "@example.org:victim@example.com"}, "550 5.7.1 relaying denied"},
		{"address literal", []string{"--to", "u@[127.0.0.1]"}, "553 5.1.3"},
	} {
		out, _ := swaks(t, append([]string{"--server", mx, "--from", "a@elsewhere.net"}, tc.args...)...)
		if !strings.Contains(out, tc.want) {
			t.Errorf("%s: want %q in\n%s", tc.name, tc.want, out)
		}
	}

	// The primary is down: the queue says why.
	var q string
	for i := 0; i < 200 && !strings.Contains(q, "cannot connect to primary"); i++ {
		time.Sleep(50 * time.Millisecond)
		q, _ = d.Run("mail", "queue")
	}
	if !strings.Contains(q, "cannot connect to primary "+primary) {
		t.Fatalf("queue does not say why:\n%s", q)
	}
	// It comes back: the probe flushes the queue without waiting 30m.
	dump := startSink(t, primary)
	waitEmpty(t, d)
	files, _ := filepath.Glob(filepath.Join(dump, "msg.*"))
	if len(files) < 2 {
		t.Fatalf("smtp-sink got %d messages", len(files))
	}
	if !strings.Contains(d.Logs(), "primary answers again") {
		t.Errorf("flush not logged")
	}
}

// dialNewMX starts a backup MX on mxConfig and connects to it, with a 20 s
// deadline on the connection.
func dialNewMX(t *testing.T) net.Conn {
	t.Helper()
	mx := testutil.FreePort(t)
	testutil.StartDaemon(t, fmt.Sprintf(mxConfig, mx, testutil.FreePort(t)))
	c, err := net.Dial("tcp", mx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

// TestBackupMXEarlyTalker: a client that speaks before the greeting is
// dropped, and a pipelined command after STARTTLS is not executed.
func TestBackupMXEarlyTalker(t *testing.T) {
	t.Parallel()
	c := dialNewMX(t)
	c.Write([]byte("EHLO spammer\r\n"))
	line, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.HasPrefix(line, "554 ") {
		t.Fatalf("early talker got %q", line)
	}
}

// TestBackupMXRefusesMailLoops: a message that has been through more
// than 50 hops (a primary and its backup forwarding it to each other) is
// refused with 554 5.4.6 and never queued; one under the limit passes.
func TestBackupMXRefusesMailLoops(t *testing.T) {
	t.Parallel()
	mx := testutil.FreePort(t)
	d := testutil.StartDaemon(t, fmt.Sprintf(mxConfig, mx, testutil.FreePort(t)))
	received := func(n int) string {
		return strings.Repeat("Received: from a.test by b.test;\r\n\tMon, 1 Jan 2024 00:00:00 +0000\r\n", n)
	}
	err := submitSMTP(mx, "a@elsewhere.net", "user@example.org", received(50)+"Subject: loop\r\n\r\nhi\r\n")
	if err == nil || !strings.Contains(err.Error(), "554") || !strings.Contains(err.Error(), "mail loop") {
		t.Fatalf("50 hops + ours: %v", err)
	}
	if err := submitSMTP(mx, "a@elsewhere.net", "user@example.org", received(49)+"Subject: ok\r\n\r\nhi\r\n"); err != nil {
		t.Fatalf("49 hops + ours: %v", err)
	}
	if q, _ := d.Run("mail", "queue"); strings.Count(q, "user@example.org") != 1 {
		t.Fatalf("want exactly the message under the limit queued:\n%s", q)
	}
}

// TestBackupMXHardErrorLimit: a client probing for addresses is cut off
// with 421 after 20 refusals, as by Postfix's smtpd_hard_error_limit.
func TestBackupMXHardErrorLimit(t *testing.T) {
	t.Parallel()
	c := dialNewMX(t)
	br := bufio.NewReader(c)
	br.ReadString('\n') // after the greet pause
	var script strings.Builder
	script.WriteString("EHLO prober.test\r\nMAIL FROM:<a@elsewhere.net>\r\n")
	for i := range 30 {
		fmt.Fprintf(&script, "RCPT TO:<guess%d@example.com>\r\n", i)
	}
	c.Write([]byte(script.String()))
	out, err := io.ReadAll(br)
	if err != nil || strings.Count(string(out), "550 5.7.1") != 19 || !strings.Contains(string(out), "421 4.7.0 too many errors") {
		t.Fatalf("%v:\n%s", err, out)
	}
}
