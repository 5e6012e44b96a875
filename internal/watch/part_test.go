package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"bartleby/internal/config"
	"bartleby/internal/part"
	"bartleby/internal/testutil"
	"bartleby/internal/watch/clock"
	"bartleby/internal/watch/scenario"
	"bartleby/internal/watch/watchtest"
)

// startPart builds and starts the watch part on a config written in a
// temporary directory; features is the feature file's text.
func startPart(t *testing.T, dir, features, extra string) (*Watch, *prometheus.Registry) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "site.feature"), []byte(features), 0o600); err != nil {
		t.Fatal(err)
	}
	toml := fmt.Sprintf("state_dir = %q\n[watch]\nfeatures = \"site.feature\"\nevery = \"1h\"\nretry = \"10ms\"\ntimeout = \"5s\"\n%s", filepath.Join(dir, "state"), extra)
	cfg, err := config.Parse(filepath.Join(dir, "bartleby.toml"), []byte(toml))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	p, err := New(&part.Env{Config: cfg, Log: slog.New(slog.DiscardHandler), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	w := p.(*Watch)
	w.spread = 0
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	return w, reg
}

func stop(t *testing.T, w *Watch) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitRuns waits until every scenario has a recorded run.
func waitRuns(t *testing.T, w *Watch, n int) {
	t.Helper()
	testutil.Eventually(t, 20*time.Second, fmt.Sprintf("%d scenarios to run", n), func() error {
		w.mu.Lock()
		got := len(w.last)
		w.mu.Unlock()
		if got < n {
			return fmt.Errorf("%d ran", got)
		}
		return nil
	})
}

func TestPartRetryMetricsHistoryAdmin(t *testing.T) {
	t.Parallel()
	var flaky atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/flaky", func(w http.ResponseWriter, r *http.Request) {
		if flaky.Add(1) == 1 {
			http.Error(w, "first call fails", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "<p>fine now</p>")
	})
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<p>Internal trouble here</p>") })
	site := httptest.NewServer(mux)
	defer site.Close()
	features := `Feature: Part
  Scenario: Flaky
    Given I go to /flaky
    Then the status should be 200
  Scenario: Broken
    Given I go to /broken
    Then I should see "All good"
    And I go to /flaky
`
	dir := t.TempDir()
	// Our own NTP responder, synchronised, is the clock check's server.
	ntpd := clock.NewServer(clock.ServerOptions{Rate: 100, Burst: 100, Clients: 10, Leak: 2, Log: slog.New(slog.DiscardHandler),
		Upstream: func() clock.Upstream { return clock.Upstream{Synced: true, Stratum: 1} }})
	ntpAddr, err := ntpd.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ntpd.Close()
	w, reg := startPart(t, dir, features, fmt.Sprintf("base = %q\n[watch.clock]\nservers = [%q]\n", site.URL, ntpAddr))
	waitRuns(t, w, 2)
	testutil.Eventually(t, 10*time.Second, "a clock check", func() error {
		if w.Clock() == nil {
			return errors.New("none yet")
		}
		return nil
	})
	stop(t, w)
	if c := w.Clock(); c == nil || c.Status != clock.OK || c.Stratum != 2 {
		t.Fatalf("clock check through the daemon: %+v", c)
	}

	m := gather(t, reg)
	for key, want := range map[string]float64{
		`bartleby_watch_runs_total{feature="part",result="flap",scenario="flaky"}`:  1,
		`probe_success{feature="part",scenario="flaky"}`:                            1,
		`bartleby_watch_runs_total{feature="part",result="fail",scenario="broken"}`: 1,
		`probe_success{feature="part",scenario="broken"}`:                           0,
	} {
		if got, ok := m[key]; !ok || got != want {
			t.Errorf("%s = %g (present %v), want %g", key, got, ok, want)
		}
	}
	counts := map[string]int{}
	for key := range m {
		counts[key[:strings.IndexByte(key, '{')]]++
	}
	if counts["probe_http_duration_seconds"] != 2*5 || counts["probe_step_duration_seconds"] != 2 || counts["probe_duration_seconds"] != 2 {
		t.Errorf("series: %v", counts)
	}
	if _, ok := m[`probe_http_duration_seconds{feature="part",phase="processing",scenario="broken",step="01_i_go_to_broken"}`]; !ok {
		t.Errorf("no processing phase for the broken scenario's first step")
	}
	// The step skipped after the failure has no series, rather than 0 s,
	// and neither have the assertion steps, which make no request.
	for key := range m {
		if strings.Contains(key, "03_i_go_to_flaky") {
			t.Errorf("a skipped step is exported: %s", key)
		}
		if strings.Contains(key, "02_the_status_should_be_200") || strings.Contains(key, "02_i_should_see_all_good") {
			t.Errorf("an assertion step is exported: %s", key)
		}
	}
	for key, want := range map[string]float64{"bartleby_clock_status{}": 0, "bartleby_clock_valid_servers{}": 1} {
		if got, ok := m[key]; !ok || got != want {
			t.Errorf("%s = %g (present %v), want %g", key, got, ok, want)
		}
	}
	if _, ok := m["bartleby_clock_offset_seconds{}"]; !ok {
		t.Errorf("no clock offset")
	}

	// The admin page shows both scenarios, a chart and the failure with
	// the page excerpt.
	rec := httptest.NewRecorder()
	w.AdminPages()[0].Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/watch", nil))
	body := rec.Body.String()
	for _, want := range []string{"clock OK", "Flaky", "Broken", "<svg", "<polyline", `class="bad"`, "Internal trouble here", `&#34;All good&#34; not found`} {
		if !strings.Contains(body, want) {
			t.Errorf("admin page lacks %q", want)
		}
	}

	// The history survives a restart.
	w2, _ := startPart(t, dir, features, `base = "http://127.0.0.1:1"`)
	defer stop(t, w2)
	tr := w2.hist.snapshot("site.feature:Broken")
	if len(tr.Runs) < 1 || tr.Runs[0].OK || len(w2.hist.failures()) < 1 {
		t.Fatalf("history after restart: %+v, %d failures", tr, len(w2.hist.failures()))
	}
}

func TestHistoryBounded(t *testing.T) {
	h := &history{path: filepath.Join(t.TempDir(), "h.json"), max: 3, Tracks: map[string]*track{}}
	sc := &scenario.Scenario{Feature: "F", Name: "S", File: "f.feature", Steps: []*scenario.Step{{Text: "I go to /"}}}
	for i := range 10 {
		h.add(sc, &scenario.Result{Started: time.Unix(int64(i), 0), OK: i%2 == 0, Steps: []scenario.StepResult{{Status: scenario.Failed, Error: "x"}}}, false)
	}
	if err := h.save(); err != nil {
		t.Fatal(err)
	}
	h2, err := loadHistory(h.path, 3)
	if err != nil {
		t.Fatal(err)
	}
	tr := h2.snapshot(sc.ID())
	if len(tr.Runs) != 3 || tr.Runs[0].T != 7 || len(h2.failures()) != 10 {
		t.Fatalf("%+v %d", tr.Runs, len(h2.failures()))
	}
	// A changed scenario starts a new track.
	sc.Steps = append(sc.Steps, &scenario.Step{Text: "I should see \"x\""})
	h2.add(sc, &scenario.Result{Started: time.Unix(20, 0), OK: true, Steps: make([]scenario.StepResult, 2)}, false)
	if tr := h2.snapshot(sc.ID()); len(tr.Runs) != 1 {
		t.Fatalf("changed scenario kept %d old runs", len(tr.Runs))
	}
	// A corrupt file is set aside.
	os.WriteFile(h.path, []byte("{not json"), 0o600)
	if _, err := loadHistory(h.path, 3); err == nil {
		t.Fatal("corrupt history loaded")
	}
	if _, err := os.Stat(h.path + ".bad"); err != nil {
		t.Fatal(err)
	}
}

// gather flattens a registry into "name{label="v",…}" → value, labels
// sorted as the client library sorts them.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			var ls []string
			for _, l := range m.Label {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			out[mf.GetName()+"{"+strings.Join(ls, ",")+"}"] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	return 0
}

func TestPartReload(t *testing.T) {
	t.Parallel()
	site := watchtest.NewSite(t)
	dir := t.TempDir()
	two := "Feature: R\n Scenario: A\n  Given I go to /\n Scenario: B\n  Given I go to /contact\n"
	extra := fmt.Sprintf("base = %q\n", site.Plain.URL)
	w, reg := startPart(t, dir, two, extra)
	defer stop(t, w)
	waitRuns(t, w, 2)
	// Without [watch.clock], no clock series at all (not a 0 that reads OK).
	for key := range gather(t, reg) {
		if strings.HasPrefix(key, "bartleby_clock_") {
			t.Errorf("%s exported without [watch.clock]", key)
		}
	}
	reload := func(features string) error {
		os.WriteFile(filepath.Join(dir, "site.feature"), []byte(features), 0o600)
		toml := fmt.Sprintf("state_dir = %q\n[watch]\nfeatures = \"site.feature\"\nevery = \"1h\"\n%s", filepath.Join(dir, "state"), extra)
		cfg, err := config.Parse(filepath.Join(dir, "bartleby.toml"), []byte(toml))
		if err != nil {
			t.Fatal(err)
		}
		return w.Reload(&part.Env{Config: cfg, Log: slog.New(slog.DiscardHandler), Metrics: reg})
	}
	// A broken file is refused; A and B keep running.
	if err := reload("Feature: R\n Scenario: A\n  Given I goo to /\n"); err == nil || !strings.Contains(err.Error(), "site.feature:3: unknown step") {
		t.Fatalf("broken reload: %v", err)
	}
	if n := len(w.scenarios()); n != 2 {
		t.Fatalf("%d scenarios after a refused reload", n)
	}
	// Dropping B drops its metrics and history.
	if err := reload("Feature: R\n Scenario: A\n  Given I go to /\n"); err != nil {
		t.Fatal(err)
	}
	if n := len(w.scenarios()); n != 1 {
		t.Fatalf("%d scenarios after reload", n)
	}
	for key := range gather(t, reg) {
		if strings.Contains(key, `scenario="b"`) {
			t.Errorf("stale series %s", key)
		}
	}
	if tr := w.hist.snapshot("site.feature:B"); len(tr.Runs) != 0 {
		t.Errorf("B's history kept")
	}
}
