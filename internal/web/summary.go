package web

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"bartleby/internal/part"
)

// rateWindow is how far back the home page's request rate looks.
const rateWindow = 5 * time.Minute

// sample is the request counters at one time.
type sample struct {
	t          time.Time
	total, bad float64 // all requests, 5xx answers
}

// Summary is the web card: request rate and 5xx share since the oldest
// look within rateWindow (since the start on the first look), upstreams
// down, sites in maintenance.
func (w *Web) Summary() []part.Card {
	now := time.Now()
	s := w.countRequests(now)
	w.mu.Lock()
	base := sample{t: w.started}
	for _, old := range w.samples {
		if now.Sub(old.t) <= rateWindow {
			base = old
			break
		}
	}
	w.samples = append(keepRecent(w.samples, now), s)
	w.mu.Unlock()

	c := part.Card{Title: "Web", Link: "/maintenance"}
	minutes := max(now.Sub(base.t).Minutes(), 1.0/60)
	n, bad := s.total-base.total, s.bad-base.bad
	c.Facts = append(c.Facts, part.Fact{Label: "Requests/min", Value: fmt.Sprintf("%.1f", n/minutes)})
	f := part.Fact{Label: "5xx answers", Value: "none"}
	if bad > 0 {
		f.Value = fmt.Sprintf("%.1f %% (%.0f)", 100*bad/n, bad)
		f.Level = part.Warning
		if bad/n > 0.05 {
			f.Level = part.Failing
		}
	}
	c.Facts = append(c.Facts, f)
	c.Facts = append(c.Facts, w.upstreamFact(&c), w.maintFact())
	for _, f := range c.Facts {
		c.Level = max(c.Level, f.Level)
	}
	return []part.Card{c}
}

// keepRecent drops the samples older than rateWindow, keeping order.
func keepRecent(samples []sample, now time.Time) []sample {
	i := 0
	for i < len(samples) && now.Sub(samples[i].t) > rateWindow {
		i++
	}
	return append(samples[:0], samples[i:]...)
}

func (w *Web) countRequests(now time.Time) sample {
	s := sample{t: now}
	ch := make(chan prometheus.Metric, 64)
	go func() { w.metrics.requests.Collect(ch); close(ch) }()
	for m := range ch {
		var d dto.Metric
		if m.Write(&d) != nil {
			continue
		}
		v := d.GetCounter().GetValue()
		s.total += v
		for _, l := range d.GetLabel() {
			if l.GetName() == "code" && l.GetValue() == "5xx" {
				s.bad += v
			}
		}
	}
	return s
}

func (w *Web) upstreamFact(c *part.Card) part.Fact {
	f := part.Fact{Label: "Upstreams down"}
	var down []string
	total := 0
	for _, st := range w.table.Load().sites() {
		for _, p := range st.proxies {
			total++
			if p.down() {
				down = append(down, p.site)
			}
		}
	}
	f.Value = fmt.Sprintf("%d of %d", len(down), total)
	if len(down) > 0 {
		f.Level = part.Failing
		c.Problems = append(c.Problems, "no upstream answers for "+strings.Join(down, ", "))
	}
	return f
}

func (w *Web) maintFact() part.Fact {
	var on []string
	for _, s := range w.maint.Status() {
		if s.On {
			on = append(on, s.Site)
		}
	}
	f := part.Fact{Label: "Sites in maintenance", Value: "none"}
	if len(on) > 0 {
		f.Value, f.Level = strings.Join(on, ", "), part.Warning
	}
	return f
}

// sites lists every site of the table once.
func (t *table) sites() []*site {
	seen := map[*site]bool{}
	var out []*site
	for _, m := range []map[string]*site{t.exact, t.wild} {
		for _, s := range m {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}
