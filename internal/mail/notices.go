package mail

import (
	"fmt"
	"time"

	"bartleby/internal/part"
)

// stuckAfter is how long a message may wait before the admin home page
// mentions it.
const stuckAfter = time.Hour

// Notices warns on the admin home page about mail stuck in the queue and a
// spool disk running out of space.
func (m *Mail) Notices() []part.Notice {
	var out []part.Notice
	stuck, reason := 0, ""
	for _, e := range m.q.List() {
		if time.Since(e.Received) > stuckAfter && !e.Held {
			stuck++
			if reason == "" {
				reason = e.LastError
			}
		}
	}
	if stuck > 0 {
		out = append(out, part.Notice{Part: "mail",
			Text: fmt.Sprintf("%d message(s) waiting in the mail queue for more than %s; oldest: %s", stuck, stuckAfter, reason)})
	}
	if aside := m.setAside(); len(aside) > 0 {
		out = append(out, part.Notice{Part: "mail",
			Text: fmt.Sprintf("%d message(s) from the maildrop set aside, not queued (see the mail queue page); first: %s", len(aside), aside[0].Reason)})
	}
	if d := diskOf(m.q.Dir()); d.lowSpace() {
		out = append(out, part.Notice{Part: "mail",
			Text: fmt.Sprintf("the mail spool's disk is %.0f%% full (%s usable): new mail will be refused with 451 when it is full", d.UsedPercent, humanBytes(d.Avail))})
	}
	return out
}
