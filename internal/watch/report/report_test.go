package report

import (
	"bufio"
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"bartleby/internal/watch/clock"
	"bartleby/internal/watch/scenario"
	"bartleby/internal/watch/watchtest"
)

// runOnSite runs a feature's scenarios against site.
func runOnSite(t *testing.T, site *watchtest.Site, feature string) []*scenario.Result {
	t.Helper()
	feats, err := scenario.Load(watchtest.WriteFeature(t, feature))
	if err != nil {
		t.Fatal(err)
	}
	opt := scenario.Options{Base: site.Base, Timeout: 2 * time.Second, RootCAs: site.Pool}
	return scenario.RunAll(context.Background(), feats, opt)
}

func TestNagios(t *testing.T) {
	t.Parallel()
	site := watchtest.NewSite(t)
	for _, tc := range []struct {
		feature string
		th      Thresholds
		state   string
		code    int
		text    string
	}{
		{"Feature: F\n Scenario: It's \"fine\"\n  Given I go to /\n  Then I should see \"Welcome\"\n", Thresholds{Warn: 10 * time.Second, Crit: 20 * time.Second}, "OK", 0, "1/1 scenarios passed, 2 steps"},
		{"Feature: F\n Scenario: Slow\n  Given I go to /\n  Then the status should be 200\n  And the step should take less than 1ms\n", Thresholds{}, "WARNING", 1, `step 1 "I go to /" took`},
		{"Feature: F\n @warn=1ms\n Scenario: Slow tag\n  Given I go to /\n", Thresholds{}, "WARNING", 1, "(warn 0.001s)"},
		{"Feature: F\n Scenario: Crit\n  Given I go to /\n", Thresholds{Crit: time.Nanosecond}, "CRITICAL", 2, "(crit 0.000s)"},
		{"Feature: F\n Scenario: Broken | pipe\n  Given I go to /\n  Then I should see \"Nope\"\n  And I go to /\n", Thresholds{}, "CRITICAL", 2, `step 2 "I should see \"Nope\"" failed`},
	} {
		results := runOnSite(t, site, tc.feature)
		var b bytes.Buffer
		code := tc.th.WriteNagios(&b, results)
		l := watchtest.ParseNagios(t, b.String())
		if l.Service != "WATCH" || l.State != tc.state || code != tc.code || !strings.Contains(l.Text, tc.text) {
			t.Errorf("got %q exit %d, want %s/%d with %q", b.String(), code, tc.state, tc.code, tc.text)
		}
		var steps []scenario.StepResult
		for _, st := range results[0].Steps {
			if st.Request {
				steps = append(steps, st)
			}
		}
		if len(l.Perf) != len(steps)+1 {
			t.Fatalf("%d perf items for %d request steps", len(l.Perf), len(steps))
		}
		for i, p := range l.Perf[:len(steps)] {
			st := steps[i]
			if st.Status == scenario.Skipped != p.Unknown || p.UOM != "s" && !p.Unknown || p.Min != "0" {
				t.Errorf("perf %+v for step %+v", p, st)
			}
			if !p.Unknown && (p.Value < 0 || p.Value > st.Duration.Seconds()+1e-6) {
				t.Errorf("perf value %g for a %s step", p.Value, st.Duration)
			}
		}
	}
	var b bytes.Buffer
	_, err := scenario.Load("/nonexistent/x.feature")
	if code := NagiosUnknown(&b, "WATCH", err); code != 3 || watchtest.ParseNagios(t, b.String()).State != "UNKNOWN" {
		t.Errorf("missing file: %q %d", b.String(), code)
	}
}

// TestPerfLabels checks that perfdata labels come from names: the same
// step keeps its label when scenarios are added or reordered, a repeated
// step gets a suffix, and assertion steps have none.
func TestPerfLabels(t *testing.T) {
	t.Parallel()
	site := watchtest.NewSite(t)
	home := " Scenario: Home page\n  Given I go to /\n  Then I should see \"Welcome\"\n  When I go to /\n"
	contact := " Scenario: It's the contact=page\n  Given I go to /\n"
	labels := func(feature string) map[string]bool {
		var b bytes.Buffer
		Thresholds{}.WriteNagios(&b, runOnSite(t, site, feature))
		set := map[string]bool{}
		for _, p := range watchtest.ParseNagios(t, b.String()).Perf {
			set[p.Label] = true
		}
		return set
	}
	one := labels("Feature: F\n" + home)
	two := labels("Feature: F\n" + contact + home)
	var suffixes []string
	for l := range one {
		suffixes = append(suffixes, l[7:])
		if !two[l] {
			t.Errorf("label %q of %v changed after adding a scenario: %v", l, one, two)
		}
	}
	slices.Sort(suffixes)
	if want := []string{"home_page.i_go_to", "home_page.i_go_to", "home_page.total"}; !slices.Equal(suffixes, want) {
		t.Errorf("labels %v, want hashes then %v", one, want)
	}
	if len(two) != 5 {
		t.Errorf("labels %v", two)
	}
}

func TestCollectd(t *testing.T) {
	t.Parallel()
	site := watchtest.NewSite(t)
	results := runOnSite(t, site, watchtest.AllSteps)
	var b bytes.Buffer
	WriteCollectd(&b, "web-1.example.org", 90*time.Second, results)
	sc := bufio.NewScanner(&b)
	lines, durations := 0, 0
	for sc.Scan() {
		m := watchtest.PutvalRe.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("bad PUTVAL line %q", sc.Text())
		}
		for _, f := range m[1:6] {
			if len(f) > 127 {
				t.Errorf("field %q longer than 127 bytes", f)
			}
		}
		if m[1] != "web-1.example.org" || m[2] != "watch" || m[3] != "test_site" || m[6] != "90" {
			t.Errorf("line %q", sc.Text())
		}
		if m[4] == "duration" {
			durations++
		}
		lines++
	}
	want := 0
	for _, r := range results {
		want += len(r.Steps) + 1
	}
	if lines != want || durations != len(results) {
		t.Fatalf("%d lines (%d durations), want %d (%d)", lines, durations, want, len(results))
	}
}

func TestVerdictOrder(t *testing.T) {
	// A failure outranks a slow step outranks OK, whatever the order.
	rs := []*scenario.Result{
		{Scenario: "a", OK: true, Steps: []scenario.StepResult{{Status: scenario.Slow, Error: "slow"}}},
		{Scenario: "b", OK: false, Steps: []scenario.StepResult{{Status: scenario.Failed, Error: "boom"}}},
	}
	if s, why := (Thresholds{}).Verdict(rs); s != clock.Critical || !strings.Contains(why, "boom") {
		t.Fatalf("%s %s", s, why)
	}
}
