package watch

import (
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"time"

	"bartleby/internal/adminui"
	"bartleby/internal/part"
	"bartleby/internal/watch/clock"
	"bartleby/internal/watch/scenario"
)

// AdminPages adds the watch page: scenario status, pass rate, step timings
// (chart, p50, p95), grouped failures and the clock.
func (w *Watch) AdminPages() []part.AdminPage {
	return []part.AdminPage{{Path: "/watch", Title: "Watch", Handler: http.HandlerFunc(w.serveAdmin)}}
}

var adminTmpl = template.Must(template.New("watch").Parse(`
{{with .Clock}}<p class="{{.Class}}">{{.Line}} <small>(checked {{.Ago}} ago)</small></p>{{end}}
<h2>Scenarios</h2>
{{range .Rows}}<section class="scenario">
<h3>{{.Feature}} / {{.Name}} <span class="{{.Class}}">{{.Status}}</span></h3>
<p class="muted">{{.File}}:{{.Line}} · last run {{.When}}, took {{.Took}}{{if .Runs}} · passed {{.Passed}} of {{.Runs}} runs ({{printf "%.1f" .PassRate}} %) since {{.Since}}{{end}}</p>
{{.Chart}}
{{if .Steps}}<table class="rows steps"><thead><tr><th scope="col">Step</th><th scope="col">p50</th><th scope="col">p95</th></tr></thead><tbody>
{{range .Steps}}<tr><td data-label="Step">{{if .Plotted}}<span class="swatch s{{.Class}}" aria-hidden="true"></span>{{else}}<span class="swatch" aria-hidden="true"></span>{{end}}{{.N}}. {{.Text}}{{if not .Plotted}} <span class="muted">(check, not timed)</span>{{end}}</td>
<td data-label="p50">{{.P50}}</td><td data-label="p95">{{.P95}}</td></tr>{{end}}
</tbody></table>{{end}}
</section>
{{else}}<p class="muted">No scenario is configured.</p>{{end}}
<h2>Failures</h2>
{{if .Failures}}<table class="rows"><thead><tr><th scope="col">Scenario, step</th><th scope="col">Error</th><th scope="col">Count</th><th scope="col">First</th><th scope="col">Last</th></tr></thead><tbody>
{{range .Failures}}<tr><td data-label="Scenario">{{.Scenario}}, step {{.Step}}: {{.Text}}</td><td data-label="Error" class="bad">{{.Error}}{{with .Excerpt}}<details><summary>What the page showed</summary><pre>{{.}}</pre></details>{{end}}</td>
<td data-label="Count">{{.Count}}</td><td data-label="First">{{.First.Format "2006-01-02 15:04:05"}}</td><td data-label="Last">{{.Last.Format "2006-01-02 15:04:05 MST"}}</td></tr>{{end}}
</tbody></table><p class="muted">Over the last {{.Kept}} failures recorded.</p>
{{else}}<p class="ok">No failure recorded.</p>{{end}}
`))

type adminRow struct {
	Feature, Name, File string
	Line                int
	Status, Class       string
	When, Took          string
	Runs, Passed        int
	PassRate            float64
	Since               string
	Chart               template.HTML
	Steps               []stepRow
}

type stepRow struct {
	N        int
	Text     string
	Plotted  bool
	Class    int
	P50, P95 string
}

type adminClock struct{ Line, Class, Ago string }

// failureGroup is the failures of one (scenario, step, error).
type failureGroup struct {
	failure
	Count       int
	First, Last time.Time
}

func (w *Watch) serveAdmin(rw http.ResponseWriter, r *http.Request) {
	data := struct {
		Clock    *adminClock
		Rows     []adminRow
		Failures []failureGroup
		Kept     int
	}{}
	if c := w.Clock(); c != nil {
		data.Clock = &adminClock{Line: c.Line(), Class: statusClass(c.Status), Ago: time.Since(c.Time).Round(time.Second).String()}
	}
	last := w.lastResults()
	for _, sc := range w.scenarios() {
		data.Rows = append(data.Rows, w.row(sc, last[sc.ID()]))
	}
	f := w.hist.failures()
	data.Failures, data.Kept = groupFailures(f), len(f)
	adminui.RenderTemplate(rw, r, "Watch", adminTmpl, data)
}

func (w *Watch) lastResults() map[string]*scenario.Result {
	w.mu.Lock()
	defer w.mu.Unlock()
	last := make(map[string]*scenario.Result, len(w.last))
	for k, v := range w.last {
		last[k] = v
	}
	return last
}

// row is one scenario: its last result, pass rate and step timings over
// the kept history. Steps that make no request (assertions) are listed
// but neither plotted nor timed.
func (w *Watch) row(sc *scenario.Scenario, res *scenario.Result) adminRow {
	row := adminRow{Feature: sc.Feature, Name: sc.Name, File: sc.File, Line: sc.Line, Status: "not run yet", Class: "warn", When: "—", Took: "—"}
	if res != nil {
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
	t := w.hist.snapshot(sc.ID())
	row.Runs = len(t.Runs)
	for _, run := range t.Runs {
		if run.OK {
			row.Passed++
		}
	}
	if row.Runs > 0 {
		row.PassRate = 100 * float64(row.Passed) / float64(row.Runs)
		row.Since = time.Unix(t.Runs[0].T, 0).Format("2006-01-02 15:04")
	}
	var plotted []int
	for i, st := range sc.Steps {
		sr := stepRow{N: i + 1, Text: st.Text, Plotted: st.MakesRequest(), Class: i % stepClasses, P50: "—", P95: "—"}
		if sr.Plotted {
			plotted = append(plotted, i)
			if d := durations(t.Runs, i); len(d) > 0 {
				sr.P50, sr.P95 = seconds(quantile(d, 0.5)), seconds(quantile(d, 0.95))
			}
		}
		row.Steps = append(row.Steps, sr)
	}
	row.Chart = chart(t, plotted)
	return row
}

// durations are step s's times over the runs where it ran, sorted.
func durations(runs []record, s int) []float64 {
	var out []float64
	for _, r := range runs {
		if s < len(r.Steps) && r.Steps[s] >= 0 {
			out = append(out, float64(r.Steps[s]))
		}
	}
	sort.Float64s(out)
	return out
}

// quantile is the nearest-rank q-quantile of sorted values.
func quantile(sorted []float64, q float64) float64 {
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// groupFailures folds failures of the same scenario, step and error into
// one line with a count, the latest first.
func groupFailures(fs []failure) []failureGroup {
	type key struct {
		sc    string
		step  int
		error string
	}
	idx := map[key]int{}
	var out []failureGroup
	for _, f := range fs {
		k := key{f.Scenario, f.Step, f.Error}
		i, ok := idx[k]
		if !ok {
			idx[k] = len(out)
			out = append(out, failureGroup{failure: f, First: f.Time})
			i = len(out) - 1
		}
		g := &out[i]
		g.Count++
		g.Last, g.Excerpt = f.Time, f.Excerpt
	}
	slices.SortFunc(out, func(a, b failureGroup) int { return b.Last.Compare(a.Last) })
	return out
}

func statusClass(s clock.Status) string {
	return [...]string{"ok", "warn", "bad", "bad"}[s]
}
