package watch

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// Chart geometry in viewBox units: the SVG scales to the width it is
// given (class "chart"), so nothing is cut at any width.
const (
	chartW, chartH    = 560.0, 220.0
	padLeft, padRight = 70.0, 16.0
	padTop, padBottom = 12.0, 30.0
	plotW, plotH      = chartW - padLeft - padRight, chartH - padTop - padBottom
	yTicks, xTicks    = 4, 4
	stepClasses       = 10 // s0…s9 in the style sheet
	failMarkY         = padTop - 4
	labelHalfWidth    = 4.5 // half a label character's width at the chart's font size
)

// chart draws the durations of the steps in plotted (indices into each
// run's Steps) over the runs: value axis with units, time axis with ticks,
// failed runs marked along the top. The legend is the page's step table.
func chart(t track, plotted []int) template.HTML {
	if len(t.Runs) == 0 || len(plotted) == 0 {
		return ""
	}
	maxV := 0.0
	for _, r := range t.Runs {
		for _, s := range plotted {
			if s < len(r.Steps) {
				maxV = max(maxV, float64(r.Steps[s]))
			}
		}
	}
	tickV, top := niceScale(maxV, yTicks)
	t0, t1 := t.Runs[0].T, t.Runs[len(t.Runs)-1].T
	if t1 == t0 {
		t0, t1 = t0-60, t1+60
	}
	x := func(ts int64) float64 { return padLeft + plotW*float64(ts-t0)/float64(t1-t0) }
	y := func(v float64) float64 { return padTop + plotH*(1-v/top) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" role="img" aria-label="step durations from %s to %s, up to %s">`,
		chartW, chartH, time.Unix(t0, 0).Format("15:04"), time.Unix(t1, 0).Format("15:04"), seconds(top))
	for v := 0.0; v <= top+tickV/2; v += tickV {
		fmt.Fprintf(&b, `<line class="grid" x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f"/><text x="%.0f" y="%.1f" text-anchor="end">%s</text>`,
			padLeft, chartW-padRight, y(v), y(v), padLeft-6, y(v)+5, seconds(v))
	}
	ticks, step := timeTicks(t0, t1, xTicks)
	layout := "15:04"
	if step < 60 {
		layout = "15:04:05"
	}
	for _, ts := range ticks {
		// A label that would stick out of the right edge ends at its tick.
		anchor, label := "middle", time.Unix(ts, 0).Format(layout)
		if x(ts)+float64(len(label))*labelHalfWidth > chartW {
			anchor = "end"
		}
		fmt.Fprintf(&b, `<line class="axis" x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f"/><text x="%.1f" y="%.0f" text-anchor="%s">%s</text>`,
			x(ts), x(ts), chartH-padBottom, chartH-padBottom+4, x(ts), chartH-6, anchor, label)
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%.0f" x2="%.0f" y1="%.0f" y2="%.0f"/>`, padLeft, chartW-padRight, chartH-padBottom, chartH-padBottom)
	for _, s := range plotted {
		var pts []string
		for _, r := range t.Runs {
			if s < len(r.Steps) && r.Steps[s] >= 0 {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(r.T), y(float64(r.Steps[s]))))
			}
		}
		fmt.Fprintf(&b, `<polyline class="line s%d" points="%s"/>`, s%stepClasses, strings.Join(pts, " "))
	}
	for _, r := range t.Runs {
		if !r.OK {
			fmt.Fprintf(&b, `<circle class="fail" cx="%.1f" cy="%.0f" r="3"><title>failed %s</title></circle>`, x(r.T), failMarkY, time.Unix(r.T, 0).Format(time.RFC3339))
		}
	}
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

// niceScale picks a tick step of 1, 2 or 5 × 10^n so that about n ticks
// cover maxV, and the top of the axis.
func niceScale(maxV float64, n int) (step, top float64) {
	if maxV <= 0 {
		maxV = 0.001
	}
	raw := maxV / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	return step, step * math.Ceil(maxV/step-1e-9)
}

// timeTicks are round times (10, 30 s, 1, 5, 15, 30 min, 1, 3, 6, 12 h,
// 1 d apart) between t0 and t1, about n of them, and the step.
func timeTicks(t0, t1 int64, n int) ([]int64, int64) {
	span := t1 - t0
	step := int64(86400)
	for _, s := range []int64{10, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600} {
		if span/s <= int64(n) {
			step = s
			break
		}
	}
	var out []int64
	for ts := (t0/step + 1) * step; ts <= t1; ts += step {
		out = append(out, ts)
	}
	return out, step
}

// seconds is a duration with its unit: "250 ms", "1.5 s".
func seconds(v float64) string {
	if v < 1 && v != 0 {
		return fmt.Sprintf("%.0f ms", v*1000)
	}
	return fmt.Sprintf("%.3g s", v)
}
