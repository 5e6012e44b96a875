package admin

import (
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
	Parts   []partRow
	Pages   []adminui.Link
	Notices []part.Notice
}

type partRow struct {
	control.PartStatus
	Up string
}

// home lists the running parts, as `bartleby status` does, and the pages
// the parts add.
func (v *view) home(w http.ResponseWriter, r *http.Request) {
	now := v.now()
	var d homeData
	if v.deps.Status != nil {
		d.St = v.deps.Status()
		d.Up = ago(now, d.St.Started)
	}
	for _, p := range d.St.Parts {
		d.Parts = append(d.Parts, partRow{p, ago(now, p.Since)})
	}
	d.Pages = v.nav[1:]
	if v.deps.Notices != nil {
		d.Notices = v.deps.Notices()
	}
	var body strings.Builder
	if err := pages.ExecuteTemplate(&body, "home.html", d); err != nil {
		adminui.Error(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	adminui.Render(w, r, "Status", template.HTML(body.String()))
}

// ago is a duration for people: whole seconds.
func ago(now, t time.Time) string {
	return now.Sub(t).Truncate(time.Second).String()
}
