// Package report writes scenario results for their readers: people (text),
// Nagios (a plugin line with perfdata and its exit code), collectd (exec
// plugin PUTVAL lines) and programs (JSON).
package report

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"strconv"
	"strings"
	"time"

	"bartleby/internal/watch/clock"
	"bartleby/internal/watch/scenario"
)

// Thresholds are the default per-step Nagios thresholds; zero is none.
type Thresholds struct{ Warn, Crit time.Duration }

// stepLimits are the warn and crit thresholds that apply to a step.
func (t Thresholds) stepLimits(r *scenario.Result, st *scenario.StepResult) (warn, crit time.Duration) {
	warn, crit = t.Warn, t.Crit
	if r.Warn > 0 {
		warn = r.Warn
	}
	if r.Crit > 0 {
		crit = r.Crit
	}
	if st.Warn > 0 {
		warn = st.Warn
	}
	return warn, crit
}

// Verdict is the Nagios state of a set of runs and the reason for it.
func (t Thresholds) Verdict(results []*scenario.Result) (clock.Status, string) {
	status, why := clock.OK, ""
	worse := func(s clock.Status, reason string) {
		if s > status {
			status, why = s, reason
		}
	}
	failed, steps := 0, 0
	var total time.Duration
	for _, r := range results {
		total += r.Duration
		if !r.OK {
			failed++
		}
		for i := range r.Steps {
			st := &r.Steps[i]
			steps++
			where := fmt.Sprintf("%s: step %d %q", r.Scenario, i+1, st.Text)
			warn, crit := t.stepLimits(r, st)
			switch {
			case st.Status == scenario.Failed:
				worse(clock.Critical, where+" failed: "+st.Error)
			case st.Status == scenario.Skipped:
			case crit > 0 && st.Duration > crit:
				worse(clock.Critical, fmt.Sprintf("%s took %.3fs (crit %.3fs)", where, st.Duration.Seconds(), crit.Seconds()))
			case st.Status == scenario.Slow:
				worse(clock.Warning, where+": "+st.Error)
			case warn > 0 && st.Duration > warn:
				worse(clock.Warning, fmt.Sprintf("%s took %.3fs (warn %.3fs)", where, st.Duration.Seconds(), warn.Seconds()))
			}
		}
	}
	summary := fmt.Sprintf("%d/%d scenarios passed, %d steps in %.3fs", len(results)-failed, len(results), steps, total.Seconds())
	if why != "" {
		summary = why + "; " + summary
	}
	return status, summary
}

// WriteNagios writes the plugin output: one status line with perfdata per
// request step and per scenario, and returns the exit code. Assertion steps
// only look at the last answer, so they have no time worth graphing.
func (t Thresholds) WriteNagios(w io.Writer, results []*scenario.Result) int {
	status, text := t.Verdict(results)
	var perf []string
	labels := perfLabels{}
	for _, r := range results {
		for j := range r.Steps {
			st := &r.Steps[j]
			if !st.Request {
				continue
			}
			warn, crit := t.stepLimits(r, st)
			value := "U"
			if st.Status != scenario.Skipped {
				value = secs(st.Duration) + "s"
			}
			perf = append(perf, fmt.Sprintf("%s=%s;%s;%s;0;", labels.label(r.Feature, r.Scenario, st.Text), value, limit(warn), limit(crit)))
		}
		perf = append(perf, fmt.Sprintf("%s=%ss;;;0;", labels.label(r.Feature, r.Scenario), secs(r.Duration)))
	}
	fmt.Fprintf(w, "WATCH %s - %s | %s\n", status, PluginText(text), strings.Join(perf, " "))
	return int(status)
}

// perfLabels names perfdata from the feature, scenario and step names,
// never positions, so a graph keeps its history when scenarios are added or
// reordered. Graphers that make RRD data source names keep 19 characters,
// so a label starts with a hash of the full names (a repeated step's hash
// includes its rank) and goes on with a readable slug.
type perfLabels map[string]bool // the 19-character prefixes taken

func (p perfLabels) label(names ...string) string {
	slugs := []string{scenario.Slug(names[1], 24)}
	if len(names) > 2 {
		slugs = append(slugs, scenario.Slug(names[2], 28))
	} else {
		slugs = append(slugs, "total")
	}
	for rank := 1; ; rank++ {
		h := fnv.New32a()
		fmt.Fprintf(h, "%d\x00%s", rank, strings.Join(names, "\x00"))
		label := fmt.Sprintf("%06x_%s", h.Sum32()&0xffffff, strings.Join(slugs, "."))
		if key := label[:min(19, len(label))]; !p[key] {
			p[key] = true
			return label
		}
	}
}

// NagiosUnknown writes the UNKNOWN line of a plugin (service "WATCH",
// "CLOCK") that could not run, and returns its exit code.
func NagiosUnknown(w io.Writer, service string, err error) int {
	fmt.Fprintf(w, "%s UNKNOWN - %s\n", service, PluginText(err.Error()))
	return int(clock.Unknown)
}

// PluginText keeps a status text on one line and out of the perfdata.
func PluginText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > 300 {
		s = strings.ToValidUTF8(s[:300], "") + "…"
	}
	return s
}

func secs(d time.Duration) string { return fmt.Sprintf("%.6f", d.Seconds()) }

func limit(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// WriteCollectd writes PUTVAL lines for collectd's exec plugin: one
// response_time per step and one duration per scenario, every field at
// most 127 bytes and free of '-' in plugin and type names.
func WriteCollectd(w io.Writer, host string, interval time.Duration, results []*scenario.Result) {
	host = strings.NewReplacer("/", "_", `"`, "_", " ", "_").Replace(host)
	if len(host) > 127 {
		host = host[:127]
	}
	iv := max(1, int(interval.Seconds()))
	for _, r := range results {
		inst := scenario.Slug(r.Feature, 63)
		sc := scenario.Slug(r.Scenario, 60)
		for j := range r.Steps {
			st := &r.Steps[j]
			value := "U"
			if st.Status != scenario.Skipped {
				value = secs(st.Duration)
			}
			ti := fmt.Sprintf("%s_%02d_%s", sc, j+1, scenario.Slug(st.Text, 60))
			fmt.Fprintf(w, "PUTVAL \"%s/watch-%s/response_time-%s\" interval=%d N:%s\n", host, inst, ti[:min(len(ti), 127)], iv, value)
		}
		fmt.Fprintf(w, "PUTVAL \"%s/watch-%s/duration-%s\" interval=%d N:%s\n", host, inst, sc, iv, secs(r.Duration))
	}
}

// WriteJSON writes the verdict and every result.
func (t Thresholds) WriteJSON(w io.Writer, results []*scenario.Result) int {
	status, text := t.Verdict(results)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(struct {
		Status  string             `json:"status"`
		Summary string             `json:"summary"`
		Results []*scenario.Result `json:"results"`
	}{status.String(), text, results})
	return int(status)
}

// WriteText writes the readable report: ✓/✗ per step with its time and
// phases, the failure with the page excerpt, and a summary line.
func (t Thresholds) WriteText(w io.Writer, results []*scenario.Result) int {
	feature := ""
	for _, r := range results {
		if r.Feature != feature {
			feature = r.Feature
			fmt.Fprintf(w, "Feature: %s\n", r.Feature)
		}
		fmt.Fprintf(w, "  Scenario: %s  (%s:%d)\n", r.Scenario, r.File, r.Line)
		for j := range r.Steps {
			writeStep(w, &r.Steps[j])
		}
	}
	status, text := t.Verdict(results)
	fmt.Fprintf(w, "%s: %s\n", status, text)
	return int(status)
}

func writeStep(w io.Writer, st *scenario.StepResult) {
	mark := map[string]string{scenario.Passed: "✓", scenario.Failed: "✗", scenario.Slow: "!", scenario.Skipped: "-"}[st.Status]
	line := fmt.Sprintf("    %s %s %s", mark, st.Keyword, st.Text)
	if st.Status == scenario.Skipped {
		fmt.Fprintf(w, "%s  (skipped)\n", line)
		return
	}
	fmt.Fprintf(w, "%-64s %8.3fs", line, st.Duration.Seconds())
	if st.Requests > 0 {
		fmt.Fprintf(w, "  (")
		for i, d := range st.Phases.List() {
			if i > 0 {
				fmt.Fprint(w, " ")
			}
			fmt.Fprintf(w, "%s %.1fms", scenario.PhaseNames[i], float64(d.Microseconds())/1000)
		}
		if st.Redirects > 0 {
			fmt.Fprintf(w, ", %d redirects", st.Redirects)
		}
		fmt.Fprint(w, ")")
	}
	fmt.Fprintln(w)
	if st.Error != "" {
		fmt.Fprintf(w, "        %s\n", st.Error)
	}
	if st.Excerpt != "" {
		fmt.Fprintf(w, "        page: %s\n", st.Excerpt)
	}
}
