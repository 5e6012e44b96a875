package watch

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"bartleby/internal/adminui"
	"bartleby/internal/part"
	"bartleby/internal/watch/clock"
	"bartleby/internal/watch/scenario"
)

// AdminPages adds the watch page: scenario status, step timing charts,
// recent failures and the clock.
func (w *Watch) AdminPages() []part.AdminPage {
	return []part.AdminPage{{Path: "/watch", Title: "Watch", Handler: http.HandlerFunc(w.serveAdmin)}}
}

var adminTmpl = template.Must(template.New("watch").Parse(`
{{with .Clock}}<p class="{{.Class}}">{{.Line}} <small>(checked {{.Ago}} ago)</small></p>{{end}}
<h2>Scenarios</h2>
<div class="scroll"><table>
<tr><th>Scenario</th><th>Status</th><th>Last run</th><th>Took</th><th>Step times over the last {{.Runs}} runs</th></tr>
{{range .Rows}}<tr>
<td>{{.Feature}} / {{.Name}}<br><small>{{.File}}:{{.Line}}</small></td>
<td class="{{.Class}}">{{.Status}}</td><td>{{.When}}</td><td>{{.Took}}</td>
<td>{{.Chart}}</td></tr>
{{end}}</table></div>
<h2>Last failures</h2>
{{range .Failures}}<h3 class="bad">{{.Time.Format "2006-01-02 15:04:05 MST"}} — {{.Scenario}}, step {{.Step}}: {{.Text}}</h3>
<p>{{.Error}}</p>{{with .Excerpt}}<pre>{{.}}</pre>{{end}}
{{else}}<p class="ok">No failure recorded.</p>{{end}}
`))

type adminRow struct {
	Feature, Name, File string
	Line                int
	Status, Class       string
	When, Took          string
	Chart               template.HTML
}

type adminClock struct{ Line, Class, Ago string }

func (w *Watch) serveAdmin(rw http.ResponseWriter, r *http.Request) {
	data := struct {
		Clock    *adminClock
		Rows     []adminRow
		Runs     int
		Failures []failure
	}{}
	if c := w.Clock(); c != nil {
		data.Clock = &adminClock{Line: c.Line(), Class: statusClass(c.Status), Ago: time.Since(c.Time).Round(time.Second).String()}
	}
	w.mu.Lock()
	data.Runs = w.cfg.History
	last := make(map[string]*scenario.Result, len(w.last))
	for k, v := range w.last {
		last[k] = v
	}
	w.mu.Unlock()
	for _, sc := range w.scenarios() {
		row := adminRow{Feature: sc.Feature, Name: sc.Name, File: sc.File, Line: sc.Line, Status: "not run yet", Class: "warn", When: "—", Took: "—"}
		if res := last[sc.ID()]; res != nil {
			row.Status, row.Class = "passed", "ok"
			switch {
			case !res.OK:
				row.Status, row.Class = "failed: "+res.Failed().Error, "bad"
			case res.Slow:
				row.Status, row.Class = "slow", "warn"
			}
			row.When = time.Since(res.Started).Round(time.Second).String() + " ago"
			row.Took = fmt.Sprintf("%.3fs", res.Duration.Seconds())
		}
		row.Chart = chart(w.hist.snapshot(sc.ID()))
		data.Rows = append(data.Rows, row)
	}
	f := w.hist.failures()
	for i, j := 0, len(f)-1; i < j; i, j = i+1, j-1 {
		f[i], f[j] = f[j], f[i]
	}
	data.Failures = f
	adminui.RenderTemplate(rw, r, "Watch", adminTmpl, data)
}

func statusClass(s clock.Status) string {
	return [...]string{"ok", "warn", "bad", "bad"}[s]
}

// palette colours the steps' lines; it repeats after ten steps.
var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

// chart draws each step's duration over the runs as an SVG line chart,
// server-side: one polyline per step, failed runs marked in red along the
// top, the scale and the time span written on it.
func chart(t track) template.HTML {
	const w, h, top, left = 480.0, 120.0, 12.0, 44.0
	if len(t.Runs) == 0 {
		return "<small>no runs yet</small>"
	}
	maxV := float32(0.001)
	for _, r := range t.Runs {
		for _, d := range r.Steps {
			maxV = max(maxV, d)
		}
	}
	n := len(t.Runs)
	x := func(i int) float64 {
		if n == 1 {
			return left + (w-left)/2
		}
		return left + float64(i)*(w-left-4)/float64(n-1)
	}
	y := func(v float32) float64 { return top + (h-top-14)*(1-float64(v/maxV)) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="step durations">`, w, h+16*float64((len(t.Steps)+2)/3), w, h+16*float64((len(t.Steps)+2)/3))
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#999"/>`, left, h-14, w, h-14)
	fmt.Fprintf(&b, `<text x="0" y="%.0f" font-size="10">%.3fs</text><text x="0" y="%.0f" font-size="10">0</text>`, top+4, maxV, h-14)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="10">%s</text><text x="%.0f" y="%.0f" font-size="10" text-anchor="end">%s</text>`,
		left, h-2, time.Unix(t.Runs[0].T, 0).Format("Jan 2 15:04"), w, h-2, time.Unix(t.Runs[n-1].T, 0).Format("Jan 2 15:04"))
	for s := range t.Steps {
		var pts []string
		for i, r := range t.Runs {
			if s < len(r.Steps) && r.Steps[s] >= 0 {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(r.Steps[s])))
			}
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke-width="1.5" stroke="%s" points="%s"/>`, palette[s%len(palette)], strings.Join(pts, " "))
	}
	for i, r := range t.Runs {
		if !r.OK {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.0f" r="3" fill="#d62728"><title>failed %s</title></circle>`, x(i), top-6, time.Unix(r.T, 0).Format(time.RFC3339))
		}
	}
	for s, text := range t.Steps {
		cx, cy := 4+float64(s%3)*160, h+12+16*float64(s/3)
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="10" height="4" fill="%s"/><text x="%.0f" y="%.0f" font-size="10">%d. %s</text>`,
			cx, cy-4, palette[s%len(palette)], cx+14, cy, s+1, template.HTMLEscapeString(shorten(text, 26)))
	}
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
