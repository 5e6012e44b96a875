package watch

import (
	"fmt"
	"strings"

	"bartleby/internal/part"
	"bartleby/internal/watch/clock"
)

// Summary is the watch card (scenarios passing, the failing ones named)
// and, when the clock is checked, the clock card.
func (w *Watch) Summary() []part.Card {
	c := part.Card{Title: "Watch", Link: "/watch"}
	last := w.lastResults()
	scs := w.scenarios()
	passing, notRun := 0, 0
	for _, sc := range scs {
		switch res := last[sc.ID()]; {
		case res == nil:
			notRun++
		case res.OK:
			passing++
		default:
			c.Problems = append(c.Problems, fmt.Sprintf("%s / %s: %s", sc.Feature, sc.Name, res.Failed().Error))
		}
	}
	f := part.Fact{Label: "Scenarios passing", Value: fmt.Sprintf("%d of %d", passing, len(scs))}
	if len(c.Problems) > 0 {
		f.Level, c.Level = part.Failing, part.Failing
	}
	c.Facts = append(c.Facts, f)
	if notRun > 0 {
		c.Facts = append(c.Facts, part.Fact{Label: "Not run yet", Value: fmt.Sprint(notRun)})
	}
	cards := []part.Card{c}
	if r := w.Clock(); r != nil {
		cc := part.Card{Title: "Clock", Link: "/watch", Level: [...]part.Level{part.OK, part.Warning, part.Failing, part.Failing}[r.Status]}
		cc.Facts = append(cc.Facts, part.Fact{Label: "Offset", Value: fmt.Sprintf("%+.3f s", r.Offset.Seconds()), Level: cc.Level})
		if r.Status != clock.OK {
			cc.Problems = append(cc.Problems, strings.TrimSpace(r.Line()))
		}
		cards = append(cards, cc)
	}
	return cards
}
