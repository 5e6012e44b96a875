package admin

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"bartleby/internal/adminui"
	"bartleby/internal/control"
	"bartleby/internal/part"
)

type homeData struct {
	St      control.Status
	Up      string
	Cards   []part.Card
	Parts   []partRow
	Notices []part.Notice
	Fleet   *fleetData // nil without [fleet]
}

type partRow struct {
	control.PartStatus
	Up string
}

// home is health at a glance: the daemon's card (version, uptime, the last
// reload), one card per area the parts look after, then the listeners.
func (v *view) home(w http.ResponseWriter, r *http.Request) {
	now := v.now()
	var d homeData
	if v.deps.Status != nil {
		d.St = v.deps.Status()
		d.Up = ago(now, d.St.Started)
		d.Cards = append(d.Cards, daemonCard(d.St, now))
	}
	if v.deps.Cards != nil {
		d.Cards = append(d.Cards, v.deps.Cards()...)
	}
	if v.deps.Certs != nil {
		d.Cards = append(d.Cards, certsCard(v.deps.Certs(), now))
	}
	if v.fleet != nil {
		var c part.Card
		c, d.Fleet = v.fleetHome(r.Context(), now)
		d.Cards = append(d.Cards, c)
	}
	for _, p := range d.St.Parts {
		d.Parts = append(d.Parts, partRow{p, ago(now, p.Since)})
	}
	if v.deps.Notices != nil {
		d.Notices = v.deps.Notices()
	}
	var body strings.Builder
	if err := pages.ExecuteTemplate(&body, "home.html", d); err != nil {
		adminui.Error(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	adminui.Render(w, r, "Health", template.HTML(body.String()))
}

// daemonCard is bartleby itself: how long it runs and how the last
// reload went.
func daemonCard(st control.Status, now time.Time) part.Card {
	c := part.Card{Title: "bartleby " + st.Version, Facts: []part.Fact{{Label: "Up", Value: ago(now, st.Started)}}}
	a := st.Attempt
	switch {
	case a == nil:
		c.Facts = append(c.Facts, part.Fact{Label: "Last reload", Value: "none since the start"})
	case !a.OK:
		c.Level = part.Warning
		c.Facts = append(c.Facts, part.Fact{Label: "Last reload", Value: fmt.Sprintf("%s ago by %s: %s", ago(now, a.At), a.By, a.Summary()), Level: part.Warning})
		c.Problems = append(c.Problems, a.Errors...)
	default:
		c.Facts = append(c.Facts, part.Fact{Label: "Last reload", Value: fmt.Sprintf("%s ago by %s: applied", ago(now, a.At), a.By)})
	}
	return c
}

// ago is a duration for people: whole seconds.
func ago(now, t time.Time) string {
	return now.Sub(t).Truncate(time.Second).String()
}
