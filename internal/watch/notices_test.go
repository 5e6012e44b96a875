package watch

import (
	"strings"
	"testing"
	"time"

	"bartleby/internal/watch/clock"
)

func TestClockNotice(t *testing.T) {
	w := &Watch{}
	if n := w.Notices(); n != nil {
		t.Fatalf("notices before any check: %v", n)
	}
	w.clockR = &clock.Result{Status: clock.OK, Stratum: 2, Valid: 3}
	if n := w.Notices(); n != nil {
		t.Fatalf("notices for a good clock: %v", n)
	}
	w.clockR = &clock.Result{Status: clock.Critical, Stratum: 2, Valid: 3, Offset: -20 * time.Minute}
	n := w.Notices()
	if len(n) != 1 || n[0].Part != "watch" || !strings.Contains(n[0].Text, "CRITICAL") {
		t.Fatalf("notices for a 20m skew: %+v", n)
	}
}
