package mail

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"bartleby/internal/part"
)

// failingAfter is the age of the oldest message that makes the mail card
// failing rather than a warning.
const failingAfter = 24 * time.Hour

// Summary is the mail card: queue size, oldest message, deferred messages
// by reason, held ones, set-aside drops, recipients delivered and bounced
// in the last hour, and the spool disk.
func (m *Mail) Summary() []part.Card {
	s := m.summary()
	c := part.Card{Title: "Mail", Link: "/mail/"}
	queued := part.Fact{Label: "Queue", Value: fmt.Sprintf("%d messages, %s", s.Count, humanBytes(s.TotalSize))}
	c.Facts = append(c.Facts, queued)
	if s.Count > 0 {
		oldest := time.Duration(s.OldestSeconds) * time.Second
		f := part.Fact{Label: "Oldest", Value: humanAge(oldest)}
		switch {
		case oldest > failingAfter:
			f.Level = part.Failing
		case oldest > stuckAfter:
			f.Level = part.Warning
		}
		c.Facts = append(c.Facts, f)
	}
	held := 0
	for _, e := range s.Messages {
		if e.Held {
			held++
		}
	}
	if held > 0 {
		c.Facts = append(c.Facts, part.Fact{Label: "On hold", Value: fmt.Sprint(held)})
	}
	for _, g := range groupBy(views(s.Messages), func(e *msgView) string { return e.Reason }) {
		if g.Key != "" {
			c.Facts = append(c.Facts, part.Fact{Label: "Deferred", Value: fmt.Sprintf("%d: %s", g.Count, g.Key), Level: part.Warning})
		}
	}
	if n := len(s.SetAside); n > 0 {
		c.Facts = append(c.Facts, part.Fact{Label: "Set aside", Value: fmt.Sprint(n), Level: part.Failing})
	}
	c.Facts = append(c.Facts,
		part.Fact{Label: "Delivered, last hour", Value: fmt.Sprint(m.met.deliveredHour.Count())},
		part.Fact{Label: "Bounced, last hour", Value: fmt.Sprint(m.met.bouncedHour.Count())},
		diskFact(s.Disk))
	for _, f := range c.Facts {
		c.Level = max(c.Level, f.Level)
	}
	return []part.Card{c}
}

func diskFact(d Disk) part.Fact {
	f := part.Fact{Label: "Spool disk"}
	switch {
	case d.Error != "":
		f.Value, f.Level = d.Error, part.Failing
	default:
		f.Value = fmt.Sprintf("%s usable", humanBytes(d.Avail))
		if d.lowSpace() {
			f.Level = part.Failing
		}
	}
	return f
}

// reasonOf shortens a delivery error to what groups alike messages: its
// first clause ("cannot connect to primary"), without addresses or ids.
func reasonOf(err string) string {
	if err == "" {
		return ""
	}
	r, _, _ := strings.Cut(err, ": ")
	return shorten(r, 80)
}

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// group is a key (a destination, a reason) with its message count.
type group struct {
	Key   string
	Count int
}

// groupBy counts messages by key, the largest group first.
func groupBy(msgs []*msgView, key func(*msgView) string) []group {
	counts := map[string]int{}
	for _, e := range msgs {
		counts[key(e)]++
	}
	out := make([]group, 0, len(counts))
	for k, n := range counts {
		out = append(out, group{k, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	return out
}
