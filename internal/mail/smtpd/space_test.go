package smtpd

import (
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"bartleby/internal/mail/queue"
)

func TestRoomFor(t *testing.T) {
	dir := t.TempDir()
	if !roomFor(dir, 1) {
		t.Error("no room for one octet")
	}
	if roomFor(dir, 1<<60) {
		t.Error("room for an exabyte message")
	}
	if !roomFor(dir+"/missing", 1<<60) {
		t.Error("a failing statfs refused mail")
	}
}

// TestFullSpoolIs452: a spool that runs out of space or quota mid-message
// gets 452 4.3.1, so the client keeps the message.
func TestFullSpoolIs452(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT} {
		h := &sink{fail: &queue.TempError{Err: fmt.Errorf("queue: %w", &fs.PathError{Op: "write", Path: "x.tmp", Err: errno})}}
		out := dialog(t, serve(t, h, nil), "EHLO c\r\nMAIL FROM:<s@x.test>\r\nRCPT TO:<1@x.test>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n")
		if !strings.Contains(out, "452 4.3.1 insufficient system storage") {
			t.Errorf("%v answered:\n%s", errno, out)
		}
	}
}
