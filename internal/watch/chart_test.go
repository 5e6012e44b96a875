package watch

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestNiceScaleAndTicks(t *testing.T) {
	for _, c := range []struct{ max, step, top float64 }{{0.93, 0.5, 1}, {0.18, 0.05, 0.2}, {3.2, 1, 4}, {0, 0.0005, 0.001}} {
		if step, top := niceScale(c.max, 4); step != c.step || top != c.top {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", c.max, step, top, c.step, c.top)
		}
	}
	t0 := time.Date(2026, 1, 1, 14, 21, 33, 0, time.UTC).Unix()
	ticks, _ := timeTicks(t0, t0+2*3600, 5)
	if len(ticks) != 4 || time.Unix(ticks[0], 0).UTC().Format("15:04") != "14:30" {
		t.Errorf("ticks over 2 h: %v", ticks)
	}
	if ticks, step := timeTicks(t0, t0+40, 5); step != 10 || len(ticks) != 4 {
		t.Errorf("ticks over 40 s: %v every %d s", ticks, step)
	}
	if seconds(0.25) != "250 ms" || seconds(1.5) != "1.5 s" {
		t.Errorf("units: %q %q", seconds(0.25), seconds(1.5))
	}
}

// TestChartPlotsRequestsOnly: only the plotted steps get a line; the chart
// scales to its container (viewBox, no fixed width) and has value ticks
// with units.
func TestChartPlotsRequestsOnly(t *testing.T) {
	tr := track{Steps: []string{"I go to /", "I should see \"x\"", "I go to /b"}}
	for i := range 10 {
		tr.Runs = append(tr.Runs, record{T: int64(960 + 60*i), OK: i != 4, Steps: []float32{0.2, 0, 0.4}})
	}
	svg := string(chart(tr, []int{0, 2}))
	if n := strings.Count(svg, "<polyline"); n != 2 {
		t.Errorf("%d lines, want 2 (the assertion is not plotted)", n)
	}
	for _, want := range []string{`class="chart"`, `viewBox="0 0 560 220"`, ">400 ms<", `class="line s2"`, "<circle class=\"fail\""} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q:\n%s", want, svg)
		}
	}
	// The last run is on a 5-minute tick, at the right edge: its label
	// must end there, not stick out.
	if !regexp.MustCompile(`text-anchor="end">\d\d:\d\d<`).MatchString(svg) {
		t.Errorf("the label of the tick at the right edge is centred on it:\n%s", svg)
	}
	if strings.Contains(svg, `width="`) {
		t.Error("the chart has a fixed width")
	}
}

func TestGroupFailuresAndQuantile(t *testing.T) {
	base := time.Unix(1000, 0)
	var fs []failure
	for i := range 20 {
		fs = append(fs, failure{Time: base.Add(time.Duration(i) * time.Minute), Scenario: "F / S", Step: 2, Error: "502"})
	}
	fs = append(fs, failure{Time: base.Add(time.Hour), Scenario: "F / T", Step: 1, Error: "timeout"})
	g := groupFailures(fs)
	if len(g) != 2 || g[0].Scenario != "F / T" || g[1].Count != 20 || !g[1].First.Equal(base) || !g[1].Last.Equal(base.Add(19*time.Minute)) {
		t.Fatalf("groups: %+v", g)
	}
	d := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if quantile(d, 0.5) != 5 || quantile(d, 0.95) != 10 {
		t.Errorf("p50 %v p95 %v", quantile(d, 0.5), quantile(d, 0.95))
	}
}
