package scenario

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bartleby/internal/watch/watchtest"
)

func runAll(t testing.TB, feats []*Feature, opt Options) []*Result {
	t.Helper()
	return RunAll(context.Background(), feats, opt)
}

func opts(site *watchtest.Site) Options {
	return Options{Base: site.Base, Timeout: 2 * time.Second, RootCAs: site.Pool}
}

func TestEveryStepKind(t *testing.T) {
	t.Parallel()
	site := watchtest.NewSite(t)
	feats, err := Load(watchtest.WriteFeature(t, watchtest.AllSteps))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(feats[0].Scenarios); n != 3 {
		t.Fatalf("%d scenarios, want 3 (one + two examples)", n)
	}
	results := runAll(t, feats, opts(site))
	kinds := map[string]bool{}
	for _, r := range results {
		if !r.OK || r.Slow {
			for _, st := range r.Steps {
				if st.Status != Passed {
					t.Errorf("line %d %q: %s %s", st.Line, st.Text, st.Status, st.Error)
				}
			}
			t.Fatalf("scenario %q did not pass", r.Scenario)
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
	site := watchtest.NewSite(t)
	feats, err := Load(watchtest.WriteFeature(t, "Feature: T\n Scenario: S\n  Given I go to /\n  When I follow \"Contact\"\n  Then I should see \"Write\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := runAll(t, feats, opts(site))[0]
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
	byName := strings.Replace(site.Plain.URL, "127.0.0.1", "localhost", 1)
	feats2, err := Load(watchtest.WriteFeature(t, "Feature: T\n Scenario: S\n  Given I go to "+byName+"/\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r2 := runAll(t, feats2, opts(site))[0]; !r2.OK || r2.Steps[0].Phases.Resolve <= 0 {
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
	site := watchtest.NewSite(t)
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
		{steps: `Given I go to ` + strings.Replace(site.TLS.URL, "127.0.0.1", "localhost", 1), err: "TLS: certificate is not valid for localhost"},
	} {
		feats, err := Load(watchtest.WriteFeature(t, "Feature: F\n Scenario: S\n"+tc.steps+"\n And I go to /\n"))
		if err != nil {
			t.Fatal(err)
		}
		opt := opts(site)
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
		_, err := Load(watchtest.WriteFeature(t, tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.text, err, tc.want)
		}
	}
	many := "Feature: F\n Scenario: S\n" + strings.Repeat("  Given I wander\n", 60)
	if _, err := Load(watchtest.WriteFeature(t, many)); err == nil || len(err.(LoadError)) != 51 || !strings.Contains(err.Error(), "… and 10 more problems") {
		t.Errorf("60 unknown steps: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.feature")); err == nil {
		t.Error("missing file loaded")
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no .feature file") {
		t.Errorf("empty dir: %v", err)
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
	f.Add([]byte(watchtest.AllSteps))
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
