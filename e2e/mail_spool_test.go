package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSendmailDownManyRecipients: a 5 MB message for 1000 recipients,
// submitted with sendmail while the daemon is down (by operands and by -t),
// is delivered whole once it starts. The maildrop's old 4 KiB envelope
// reader set such drops aside after sendmail had exited 0.
func TestSendmailDownManyRecipients(t *testing.T) {
	t.Parallel()
	r := newRelay(t)
	var rcpts []string
	for i := range 1000 {
		rcpts = append(rcpts, fmt.Sprintf("user%04d@example.net", i))
	}
	var text strings.Builder
	for i := 0; text.Len() < 5_000_000; i++ {
		fmt.Fprintf(&text, "line %07d of the nightly report, padded to a usual width .............\r\n", i)
	}
	operands := "Subject: by operands\r\n\r\n" + text.String()
	if out, err := r.sendmail(t, operands, append([]string{"-i"}, rcpts...)...); err != nil {
		t.Fatalf("sendmail by operands: %v\n%s", err, out)
	}
	header := "To: " + strings.Join(rcpts, ", ") + "\r\nSubject: by -t\r\n\r\n"
	if out, err := r.sendmail(t, header+text.String(), "-t", "-i"); err != nil {
		t.Fatalf("sendmail -t: %v\n%s", err, out)
	}
	if drops, _ := filepath.Glob(filepath.Join(r.maildrop, "*")); len(drops) != 2 {
		t.Fatalf("maildrop holds %v", drops)
	}
	d := r.start(t)
	msgs := r.peer.Wait(2, 60*time.Second)
	if len(msgs) != 2 {
		t.Fatalf("smarthost got %d messages\n%s", len(msgs), d.Logs())
	}
	for _, m := range msgs {
		_, b := body(t, m.Data)
		if len(m.Rcpts) != 1000 || m.Rcpts[999] != "user0999@example.net" || b != text.String() {
			t.Errorf("delivered %d recipients, body of %d bytes (want 1000, %d)", len(m.Rcpts), len(b), text.Len())
		}
	}
	if drops, _ := filepath.Glob(filepath.Join(r.maildrop, "*")); len(drops) != 0 {
		t.Errorf("maildrop not emptied: %v", drops)
	}
}
