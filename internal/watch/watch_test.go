package watch

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"bartleby/internal/watch/clock"
)

const allSteps = `@smoke
Feature: Test site

  Background:
    Given I go to "/"

  Scenario: Every step kind
    Then the response status should be 200
    And I should see "Welcome to the test site"
    And I should not see "Invisible"
    And the header "X-Test" should contain "hello"
    And the certificate should be valid for at least 14 days
    When I follow "Contact"
    Then the step should take less than 10s
    And I should be on "/contact"
    And the page should contain "Write to us"
    When I go to /
    And I click the link "Login page"
    And I fill in "Username" with "alice"
    And I enter "secret" into the "password" field
    And I select "French" from "Language"
    And I check "Remember me"
    And I press "Log in"
    Then I should be on /account
    And I should see "Hello alice"
    When I visit /login
    And I submit the form named "search"
    Then I should see "Results for default"
    And the URL should be /search?q=default

  Scenario Outline: Pages
    When I go to <page>
    Then I should get a <code>

    Examples:
      | page     | code |
      | /contact | 200  |
      | /gone    | 404  |
`

func writeFeature(t testing.TB, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "site.feature")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func runAll(t testing.TB, feats []*Feature, opt Options) []*Result {
	t.Helper()
	return RunAll(context.Background(), feats, opt)
}

func TestEveryStepKind(t *testing.T) {
	t.Parallel()
	site := newTestSite(t)
	feats, err := Load(writeFeature(t, allSteps))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(feats[0].Scenarios); n != 3 {
		t.Fatalf("%d scenarios, want 3 (one + two examples)", n)
	}
	results := runAll(t, feats, site.opts())
	kinds := map[string]bool{}
	for _, r := range results {
		if !r.OK || r.Slow {
			var b bytes.Buffer
			Thresholds{}.WriteText(&b, results)
			t.Fatalf("scenario %q failed:\n%s", r.Scenario, b.String())
		}
		for _, st := range r.Steps {
			kinds[st.Kind] = true
		}
	}
	for _, d := range defs {
		if d.kind != "base" && !kinds[d.kind] {
			t.Errorf("step kind %q not exercised", d.kind)
		}
	}
	for _, st := range results[0].Steps {
		if wantRedirects := map[string]int{"press": 1}[st.Kind]; st.Redirects != wantRedirects {
			t.Errorf("step %q: %d redirects, want %d", st.Text, st.Redirects, wantRedirects)
		}
	}
	if got := results[1].Scenario; !strings.Contains(got, "Pages (example line") {
		t.Errorf("outline scenario name %q", got)
	}
}

func TestFillValuesRedacted(t *testing.T) {
	feat, err := Parse("f.feature", []byte("Feature: F\n Scenario: S\n  When I fill in \"Password\" with \"hunter2\"\n  And I enter \"hunter2\" into the \"Password\" field\n"))
	if err != nil {
		t.Fatal(err)
	}
	steps := feat.Scenarios[0].Steps
	if steps[0].Text != `I fill in "Password" with "***"` || steps[1].Text != `I enter "***" into the "Password" field` || steps[0].args["value"] != "hunter2" {
		t.Fatalf("%q %q %v", steps[0].Text, steps[1].Text, steps[0].args)
	}
}

func TestTimingsPresentAndOrdered(t *testing.T) {
	t.Parallel()
	site := newTestSite(t)
	feats, err := Load(writeFeature(t, "Feature: T\n Scenario: S\n  Given I go to /\n  When I follow \"Contact\"\n  Then I should see \"Write\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := runAll(t, feats, site.opts())[0]
	first := r.Steps[0]
	p := first.Phases
	// A fresh HTTPS connection: connect, TLS, processing all happened.
	if p.Connect <= 0 || p.TLS <= 0 || p.Processing <= 0 || p.Transfer < 0 || first.Requests != 1 {
		t.Fatalf("phases of the first request: %+v, %d requests", p, first.Requests)
	}
	var sum time.Duration
	for _, d := range p.List() {
		sum += d
	}
	if sum > first.Duration {
		t.Errorf("phases sum %s > step %s", sum, first.Duration)
	}
	// A name is resolved; the resolve phase comes first and counts.
	byName := strings.Replace(site.plain.URL, "127.0.0.1", "localhost", 1)
	feats2, err := Load(writeFeature(t, "Feature: T\n Scenario: S\n  Given I go to "+byName+"/\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r2 := runAll(t, feats2, site.opts())[0]; !r2.OK || r2.Steps[0].Phases.Resolve <= 0 {
		t.Errorf("by name: ok %v, phases %+v", r2.OK, r2.Steps[0].Phases)
	}
	// The second request reuses the connection: no connect, no TLS.
	if second := r.Steps[1].Phases; second.Connect != 0 || second.TLS != 0 || second.Processing <= 0 {
		t.Errorf("second request phases %+v", second)
	}
	var total time.Duration
	for i := 1; i < len(r.Steps); i++ {
		if r.Steps[i].Started.Before(r.Steps[i-1].Started.Add(r.Steps[i-1].Duration)) {
			t.Errorf("step %d started before step %d ended", i+1, i)
		}
		total += r.Steps[i].Duration
	}
	if total+first.Duration > r.Duration {
		t.Errorf("steps %s exceed the scenario %s", total+first.Duration, r.Duration)
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	site := newTestSite(t)
	for _, tc := range []struct {
		steps, err, excerpt string
		bad                 bool // over plain TLS without the test CA
		short               bool // with a 300ms step timeout
	}{
		{steps: `Given I go to /` + "\n" + `Then I should see "Goodbye"`, err: `"Goodbye" not found`, excerpt: "Welcome to the test site"},
		{steps: `Given I go to /` + "\n" + `Then I should see "Welcome to the best site"`, err: "not found", excerpt: "Welcome to the test site"},
		{steps: `Given I go to /` + "\n" + `Then I should not see "Contact"`, err: `"Contact" is on`, excerpt: "Contact"},
		{steps: `Given I go to /loop`, err: "stopped after 10 redirects"},
		{steps: `Given I go to /slow`, err: "timed out", short: true},
		{steps: `Given I go to /huge` + "\n" + `Then I should see "needle"`, err: "only the first 4194304 bytes"},
		{steps: `Given I go to /gone` + "\n" + `Then the status should be 200`, err: "status is 404 Not Found, want 200", excerpt: "404 page not found"},
		{steps: `Given I go to /` + "\n" + `When I follow "Nowhere"`, err: `no link "Nowhere"`},
		{steps: `Given I go to /` + "\n" + `Then the header "X-Test" should contain "bye"`, err: `X-Test is "hello world", without "bye"`},
		{steps: `Given I go to /login` + "\n" + `When I fill in "Email" with "x"`, err: `no field "Email"`},
		{steps: `Given I go to /login` + "\n" + `When I select "German" from "Language"`, err: `no option "German"`},
		{steps: `Given I go to /account`, err: ""}, // a 403 is a page, not a failure
		{steps: `Given I go to /account` + "\n" + `Then I should see "Hello"`, err: "not found", excerpt: "Forbidden: log in first"},
		{steps: `Given I go to /`, err: "TLS: certificate signed by an unknown authority", bad: true},
		{steps: `Then I should see "x"`, err: "no page yet"},
		{steps: `Given I go to ` + strings.Replace(site.tls.URL, "127.0.0.1", "localhost", 1), err: "TLS: certificate is not valid for localhost"},
	} {
		feats, err := Load(writeFeature(t, "Feature: F\n Scenario: S\n"+tc.steps+"\n And I go to /\n"))
		if err != nil {
			t.Fatal(err)
		}
		opt := site.opts()
		opt.Timeout = 20 * time.Second
		if tc.short {
			opt.Timeout = 300 * time.Millisecond
		}
		if tc.bad {
			opt.RootCAs = nil
		}
		r := runAll(t, feats, opt)[0]
		f := r.Failed()
		if tc.err == "" {
			if f != nil {
				t.Errorf("%q failed: %s", tc.steps, f.Error)
			}
			continue
		}
		if f == nil || !strings.Contains(f.Error, tc.err) || !strings.Contains(f.Excerpt, tc.excerpt) {
			t.Errorf("%q: failure %+v, want error %q excerpt %q", tc.steps, f, tc.err, tc.excerpt)
			continue
		}
		if last := r.Steps[len(r.Steps)-1]; last.Status != Skipped {
			t.Errorf("%q: step after the failure is %s", tc.steps, last.Status)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ text, want string }{
		{"Feature: F\n Scenario: S\n  When I folow \"Contact\"\n", `site.feature:3: unknown step "I folow \"Contact\""; closest known steps: I follow "Contact"`},
		{"Feature: F\n Scenario: S\n  Then I shuold see \"x\"\n", `closest known steps: I should see "Welcome"`},
		{"Feature: F\n Scenario: S\n  Given I go to ftp://x/\n", "site.feature:3: URL \"ftp://x/\": only http and https"},
		{"Feature: F\n Scenario: S\n  Then the status should be 999\n", "site.feature:3: status 999 is not an HTTP status"},
		{"Feature: F\n Scenario: S\n  Given I go to /\n  Then it should take under 2 hours\n", "site.feature:4: unknown step"},
		{"Feature: F\n Scenario: S\n  Given I go to /\n Scenario: T\n", `site.feature:4: scenario "T" has no steps`},
		{"Feature: F\n  @warn=fast\n Scenario: S\n  Given I go to /\n", "site.feature:3: tag @warn=fast"},
		{"Feature: F\n Scenario: S\n  Given I go to /\n  | a |\n  | b | c |\n", "site.feature:5:"},
		{"Scenario: no feature\n  Given I go to /\n", "site.feature:1:1:"},
		{"", "no Feature"},
		{"Feature: F\n Scenario: Home!\n  Given I go to /\n Scenario: Home?\n  Given I go to /\n", `site.feature:4: scenario "Home?" has the same name as the one at`},
	} {
		_, err := Load(writeFeature(t, tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.text, err, tc.want)
		}
	}
	many := "Feature: F\n Scenario: S\n" + strings.Repeat("  Given I wander\n", 60)
	if _, err := Load(writeFeature(t, many)); err == nil || len(err.(LoadError)) != 51 || !strings.Contains(err.Error(), "… and 10 more problems") {
		t.Errorf("60 unknown steps: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.feature")); err == nil {
		t.Error("missing file loaded")
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no .feature file") {
		t.Errorf("empty dir: %v", err)
	}
}

// nagiosLine is a strictly parsed plugin output line.
type nagiosLine struct {
	service, state, text string
	perf                 []perfItem
}

type perfItem struct {
	label                      string
	value                      float64
	unknown                    bool
	uom, warn, crit, min, max2 string
}

var (
	nagiosRe = regexp.MustCompile(`^([A-Z]+) (OK|WARNING|CRITICAL|UNKNOWN) - ([^|\n]+?)(?: \| (.+))?\n$`)
	perfRe   = regexp.MustCompile(`^('(?:[^'=]|'')+'|[^' =]+)=(U|-?[0-9.]+)(s|%|B|KB|MB|TB|c|us|ms)?;([0-9.@~:-]*);([0-9.@~:-]*);(-?[0-9.]*);(-?[0-9.]*)$`)
	// perfItemRe splits perfdata on spaces outside quotes.
	perfItemRe = regexp.MustCompile(`'(?:[^']|'')*'=\S*|\S+`)
)

func parseNagios(t *testing.T, out string) nagiosLine {
	t.Helper()
	m := nagiosRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("not a Nagios plugin line: %q", out)
	}
	l := nagiosLine{service: m[1], state: m[2], text: m[3]}
	seen := map[string]bool{}
	for _, item := range perfItemRe.FindAllString(m[4], -1) {
		p := perfRe.FindStringSubmatch(item)
		if p == nil {
			t.Fatalf("bad perfdata item %q in %q", item, out)
		}
		label := strings.ReplaceAll(strings.Trim(p[1], "'"), "''", "'")
		key := label[:min(19, len(label))]
		if seen[key] {
			t.Fatalf("first 19 chars of label %q not unique", label)
		}
		seen[key] = true
		pi := perfItem{label: label, uom: p[3], warn: p[4], crit: p[5], min: p[6], max2: p[7], unknown: p[2] == "U"}
		if !pi.unknown {
			pi.value, _ = strconv.ParseFloat(p[2], 64)
		}
		l.perf = append(l.perf, pi)
	}
	return l
}

func TestNagios(t *testing.T) {
	t.Parallel()
	site := newTestSite(t)
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
		feats, err := Load(writeFeature(t, tc.feature))
		if err != nil {
			t.Fatal(err)
		}
		results := runAll(t, feats, site.opts())
		var b bytes.Buffer
		code := tc.th.WriteNagios(&b, results)
		l := parseNagios(t, b.String())
		if l.service != "WATCH" || l.state != tc.state || code != tc.code || !strings.Contains(l.text, tc.text) {
			t.Errorf("got %q exit %d, want %s/%d with %q", b.String(), code, tc.state, tc.code, tc.text)
		}
		steps := len(results[0].Steps)
		if len(l.perf) != steps+1 {
			t.Fatalf("%d perf items for %d steps", len(l.perf), steps)
		}
		for i, p := range l.perf[:steps] {
			st := results[0].Steps[i]
			if st.Status == Skipped != p.unknown || p.uom != "s" && !p.unknown || p.min != "0" {
				t.Errorf("perf %+v for step %+v", p, st)
			}
			if !p.unknown && (p.value < 0 || p.value > st.Duration.Seconds()+1e-6) {
				t.Errorf("perf value %g for a %s step", p.value, st.Duration)
			}
		}
	}
	var b bytes.Buffer
	_, err := Load("/nonexistent/x.feature")
	if code := NagiosUnknown(&b, err); code != 3 || parseNagios(t, b.String()).state != "UNKNOWN" {
		t.Errorf("missing file: %q %d", b.String(), code)
	}
}

func TestPerfLabel(t *testing.T) {
	for in, want := range map[string]string{
		`S1.1 I go to /`:                  `'S1.1 I go to /'`,
		`S1.2 It's`:                       `'S1.2 It''s'`,
		`S1.3 a=b`:                        `'S1.3 a:b'`,
		"S1.4 " + strings.Repeat("é", 40): "'S1.4 " + strings.Repeat("é", 27) + "'",
	} {
		if got := perfLabel(in); got != want {
			t.Errorf("perfLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

var putvalRe = regexp.MustCompile(`^PUTVAL "([^/"\s]+)/([a-z_]+)-([A-Za-z0-9_.]+)/(response_time|duration)-([A-Za-z0-9_.]+)" interval=(\d+) N:(U|[0-9.]+)$`)

func TestCollectd(t *testing.T) {
	t.Parallel()
	site := newTestSite(t)
	feats, err := Load(writeFeature(t, allSteps))
	if err != nil {
		t.Fatal(err)
	}
	results := runAll(t, feats, site.opts())
	var b bytes.Buffer
	WriteCollectd(&b, "web-1.example.org", 90*time.Second, results)
	sc := bufio.NewScanner(&b)
	lines, durations := 0, 0
	for sc.Scan() {
		m := putvalRe.FindStringSubmatch(sc.Text())
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
	rs := []*Result{
		{Scenario: "a", OK: true, Steps: []StepResult{{Status: Slow, Error: "slow"}}},
		{Scenario: "b", OK: false, Steps: []StepResult{{Status: Failed, Error: "boom"}}},
	}
	if s, why := (Thresholds{}).Verdict(rs); s != clock.Critical || !strings.Contains(why, "boom") {
		t.Fatalf("%s %s", s, why)
	}
}

func FuzzMatch(f *testing.F) {
	for _, d := range defs {
		for _, ex := range d.examples {
			f.Add(ex)
		}
	}
	f.Add(`I fill in "" with ""`)
	f.Add("the step should take less than 99999999999999999999ms")
	f.Fuzz(func(t *testing.T, text string) {
		def, a, ok := match(text)
		if !ok {
			if len(suggest(text)) != 3 {
				t.Fatal("no suggestions")
			}
			return
		}
		if def.check != nil {
			def.check(a) // must not panic
		}
		for k := range a {
			if !strings.Contains(strings.ToLower(text), strings.ToLower(a[k])) {
				t.Fatalf("argument %s=%q not in %q", k, a[k], text)
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(allSteps))
	f.Add([]byte("Feature: F\n Scenario: S\n  Given I go to /\n"))
	f.Add([]byte("Feature: F\n Scenario Outline: S\n  Given I go to <u>\n Examples:\n | u |\n | / |\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		feat, err := Parse("f.feature", data)
		if err != nil {
			if !strings.Contains(err.Error(), "f.feature") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		for _, sc := range feat.Scenarios {
			for _, st := range sc.Steps {
				if st.def == nil {
					t.Fatal("unmatched step loaded")
				}
			}
		}
	})
}
