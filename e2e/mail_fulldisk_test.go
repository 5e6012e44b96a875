package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/sys/unix"

	"bartleby/internal/mail/mailtest"
	"bartleby/internal/testutil"
)

// TestMXFullDisk puts the queue on a 1 MB tmpfs. While the spool has less
// than 1.5 × max_size free, MAIL gets 452 4.3.1; a disk that fills up
// during DATA gets 452 4.3.1 too and leaves no file behind; once there is
// room again the daemon, which kept serving, takes and forwards the
// message whole.
func TestMXFullDisk(t *testing.T) {
	testutil.NeedRoot(t)
	primary := mailtest.StartPeer(t, mailtest.Options{})
	mx := testutil.FreePort(t)
	d := testutil.StartDaemon(t, fmt.Sprintf(`hostname = "mx2.test"
[mail]
max_size = "100KB"
  [mail.backup_mx]
  listen = [%q]
  domains = ["example.org"]
  primary = %q
  greet_pause = "0s"
`, mx, primary.Addr))
	spool := queueOnTmpfs(t, d)
	filler := filepath.Join(spool, "filler")
	leaveFree := func(kb int64) {
		t.Helper()
		os.Remove(filler)
		var st unix.Statfs_t
		if err := unix.Statfs(spool, &st); err != nil {
			t.Fatal(err)
		}
		free := int64(st.Bavail) * st.Bsize
		if err := os.WriteFile(filler, make([]byte, free-kb<<10), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	msg := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 76)+"\r\n", 1200) // 94 KB

	leaveFree(120) // under 150 KB: refused at MAIL, before the transfer
	if err := submitSMTP(mx, "a@elsewhere.net", "u@example.org", msg); !isSMTP(err, 452, "insufficient system storage") {
		t.Fatalf("MAIL with 120 KB free: %v", err)
	}
	leaveFree(170) // room at MAIL; then the disk fills up during DATA
	if err := submitSMTPPausing(mx, "a@elsewhere.net", "u@example.org", msg, func() { leaveFree(40) }); !isSMTP(err, 452, "insufficient system storage") {
		t.Fatalf("disk full during DATA: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(spool, "[0-9A-F]*")); len(left) != 0 {
		t.Fatalf("files left in the queue: %v", left)
	}
	os.Remove(filler)
	if err := submitSMTP(mx, "a@elsewhere.net", "u@example.org", msg); err != nil {
		t.Fatalf("with room again: %v", err)
	}
	got := primary.Wait(1, 20*time.Second)
	if len(got) != 1 || !strings.HasSuffix(string(got[0].Data), msg) {
		t.Fatalf("primary got %d messages, want the one message whole", len(got))
	}
	if !d.WaitLog(`"event":"mail.spool_full"`, time.Second) {
		t.Error("the refusal at MAIL was not logged")
	}
}

// TestDSNOnFullDisk: a recipient refused for good while the disk is too
// full for its DSN stays deferred rather than vanishing with no one told;
// once there is room, the next attempt sends the DSN.
func TestDSNOnFullDisk(t *testing.T) {
	testutil.NeedRoot(t)
	var refuse atomic.Bool
	r := newRelayTo(t, mailtest.Options{Rcpt: func(addr string) error {
		if !strings.HasPrefix(addr, "gone@") {
			return nil
		}
		if refuse.Load() {
			return mailtest.RejectRcpt("gone@", 550)(addr)
		}
		return mailtest.RejectRcpt("gone@", 451)(addr)
	}}, `max_size = "100KB"`)
	d := r.start(t)
	spool := queueOnTmpfs(t, d)
	if err := submitSMTP(r.submit, "sender@example.org", "gone@example.net", "Subject: to a gone user\r\n\r\nhi\r\n"); err != nil {
		t.Fatal(err)
	}
	mailtest.WaitQueue(t, d, "451")
	fillUp(t, filepath.Join(spool, "filler"))
	refuse.Store(true)
	d.Run("mail", "flush")
	if q := mailtest.WaitQueue(t, d, "the DSN could not be queued"); !strings.Contains(q, "gone@example.net") {
		t.Fatalf("the message is not kept:\n%s", q)
	}
	os.Remove(filepath.Join(spool, "filler"))
	d.Run("mail", "flush")
	got := r.peer.Wait(1, 20*time.Second)
	if len(got) != 1 || got[0].Rcpts[0] != "sender@example.org" || !strings.Contains(string(got[0].Data), "Undelivered Mail Returned to Sender") {
		t.Fatalf("smarthost got %+v, want the DSN", got)
	}
}

// queueOnTmpfs restarts d with its queue on a 1 MB tmpfs of its own and
// returns the queue's directory.
func queueOnTmpfs(t *testing.T, d *testutil.Daemon) string {
	t.Helper()
	d.Stop()
	spool := filepath.Join(d.StateDir, "queue")
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", spool).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", spool).Run() }) // after the daemon stops
	d.Restart()
	return spool
}

// fillUp writes name until its file system is full.
func fillUp(t *testing.T, name string) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for range 1 << 10 { // 4 MB at most
		if _, err := f.Write(buf); err != nil {
			return
		}
	}
	t.Fatal("the file system did not fill up")
}

func isSMTP(err error, code int, text string) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code == code && strings.Contains(se.Message, text)
}
