// Package scenario is the Gherkin engine: it parses feature files, matches
// their steps to the built-in definitions, and runs a scenario in a fresh
// browser-like session (cookies, forms, redirects), timing every step and
// its HTTP phases.
package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	gherkin "github.com/cucumber/gherkin/go/v26"
	messages "github.com/cucumber/messages/go/v21"

	"bartleby/internal/config"
)

// Limits on what feature files may hold.
const (
	maxFeatures  = 1000
	maxSteps     = 200 // per scenario
	maxScenarios = 2000
	maxErrors    = 50 // reported per file
)

// Feature is one .feature file.
type Feature struct {
	Name      string
	File      string
	Scenarios []*Scenario
}

// Scenario is one runnable scenario (an outline gives one per example row)
// with the Background steps in front.
type Scenario struct {
	Feature string
	Name    string
	File    string
	Line    int
	Tags    []string
	Steps   []*Step
	// Warn and Crit are per-step Nagios thresholds from @warn=… and
	// @crit=… tags; zero means the run's defaults.
	Warn, Crit time.Duration
}

// ID names the scenario across runs and restarts.
func (sc *Scenario) ID() string { return filepath.Base(sc.File) + ":" + sc.Name }

// Step is a step matched to its definition at load time.
type Step struct {
	Keyword string
	Text    string // as written, with `fill in` values replaced by ***
	Line    int
	def     *stepDef
	args    args
}

// Kind is the step's definition name ("go", "follow", "see"…).
func (st *Step) Kind() string { return st.def.kind }

// MakesRequest tells whether the step makes an HTTP request, and so has
// phases.
func (st *Step) MakesRequest() bool { return st.def.request }

// LoadError lists every problem found in feature files, each with file and
// line.
type LoadError []string

func (e LoadError) Error() string { return strings.Join(e, "\n") }

// Load reads a .feature file, or every *.feature file under a directory
// (sorted), and matches every step. All problems are reported at once.
func Load(path string) ([]*Feature, error) {
	files, err := featureFiles(path)
	if err != nil {
		return nil, err
	}
	var feats []*Feature
	var errs LoadError
	n := 0
	for _, f := range files {
		feat, err := loadFile(f)
		if err != nil {
			var le LoadError
			if errors.As(err, &le) {
				errs = append(errs, le...)
			} else {
				errs = append(errs, err.Error())
			}
			continue
		}
		n += len(feat.Scenarios)
		feats = append(feats, feat)
	}
	errs = append(errs, checkUnique(feats)...)
	if n > maxScenarios {
		errs = append(errs, fmt.Sprintf("%s: %d scenarios, at most %d", path, n, maxScenarios))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: no scenario found", path)
	}
	return feats, nil
}

// checkUnique refuses two scenarios that would share a history (same file
// name and scenario name) or metric labels (same slugs).
func checkUnique(feats []*Feature) LoadError {
	var errs LoadError
	seen := map[string]string{}
	for _, f := range feats {
		for _, sc := range f.Scenarios {
			here := fmt.Sprintf("%s:%d", sc.File, sc.Line)
			for _, key := range []string{"id " + sc.ID(), "labels " + strings.Join(sc.Labels(), "/")} {
				if prev, dup := seen[key]; dup {
					errs = append(errs, fmt.Sprintf("%s: scenario %q has the same name as the one at %s; names identify a scenario's history and metrics, make them differ", here, sc.Name, prev))
					break
				}
				seen[key] = here
			}
		}
	}
	return errs
}

func featureFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".feature") {
			files = append(files, p)
		}
		if len(files) > maxFeatures {
			return fmt.Errorf("%s: more than %d feature files", path, maxFeatures)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no .feature file in this directory", path)
	}
	slices.Sort(files)
	return files, nil
}

func loadFile(file string) (*Feature, error) {
	data, err := config.ReadFile(file, config.MaxFeatureFile)
	if err != nil {
		return nil, err
	}
	return Parse(file, data)
}

var gherkinErrRe = regexp.MustCompile(`^\((\d+):(\d+)\): (.*)$`)

// Parse reads one feature file's text; file names it in errors.
func Parse(file string, data []byte) (*Feature, error) {
	ids := &messages.Incrementing{}
	doc, err := gherkin.ParseGherkinDocument(bytes.NewReader(data), ids.NewId)
	if err != nil {
		var errs LoadError
		for _, l := range strings.Split(err.Error(), "\n") {
			if m := gherkinErrRe.FindStringSubmatch(l); m != nil {
				errs = append(errs, fmt.Sprintf("%s:%s:%s: %s", file, m[1], m[2], m[3]))
			} else if l != "Parser errors:" && l != "" {
				errs = append(errs, file+": "+l)
			}
		}
		return nil, errs
	}
	if doc.Feature == nil {
		return nil, LoadError{file + ": no Feature: line"}
	}
	feat := &Feature{Name: doc.Feature.Name, File: file}
	nodes := astIndex(doc.Feature)
	var errs LoadError
	for _, p := range gherkin.Pickles(*doc, file, ids.NewId) {
		sc, perrs := compileScenario(feat, p, nodes, len(errs))
		errs = append(errs, perrs...)
		feat.Scenarios = append(feat.Scenarios, sc)
	}
	if len(errs) > maxErrors {
		errs = append(errs[:maxErrors], fmt.Sprintf("%s: … and %d more problems", file, len(errs)-maxErrors))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return feat, nil
}

// astNode is what a pickle's AST ids point to: a line and, for steps, the
// keyword.
type astNode struct {
	line    int
	keyword string
}

func astIndex(f *messages.Feature) map[string]astNode {
	idx := map[string]astNode{}
	addSteps := func(steps []*messages.Step) {
		for _, st := range steps {
			idx[st.Id] = astNode{int(st.Location.Line), strings.TrimSpace(st.Keyword)}
		}
	}
	addScenario := func(sc *messages.Scenario) {
		idx[sc.Id] = astNode{line: int(sc.Location.Line)}
		addSteps(sc.Steps)
		for _, ex := range sc.Examples {
			for _, row := range ex.TableBody {
				idx[row.Id] = astNode{line: int(row.Location.Line)}
			}
		}
	}
	for _, c := range f.Children {
		if c.Background != nil {
			addSteps(c.Background.Steps)
		}
		if c.Scenario != nil {
			addScenario(c.Scenario)
		}
		if c.Rule != nil {
			for _, rc := range c.Rule.Children {
				if rc.Background != nil {
					addSteps(rc.Background.Steps)
				}
				if rc.Scenario != nil {
					addScenario(rc.Scenario)
				}
			}
		}
	}
	return idx
}

// unknownStep reports a step no definition matches, with the closest known
// wordings while few errors were found (suggesting costs an edit distance
// per wording).
func unknownStep(file string, line int, text string, withHints bool) string {
	msg := fmt.Sprintf("%s:%d: unknown step %q", file, line, text)
	if withHints {
		msg += "; closest known steps: " + strings.Join(suggest(text), " | ")
	}
	return msg
}

func compileScenario(feat *Feature, p *messages.Pickle, nodes map[string]astNode, prior int) (*Scenario, LoadError) {
	sc := &Scenario{Feature: feat.Name, Name: p.Name, File: feat.File}
	if len(p.AstNodeIds) > 0 {
		sc.Line = nodes[p.AstNodeIds[0]].line
	}
	// An outline's rows share a name; the example row's line tells them
	// apart.
	if len(p.AstNodeIds) > 1 {
		sc.Name = fmt.Sprintf("%s (example line %d)", p.Name, nodes[p.AstNodeIds[len(p.AstNodeIds)-1]].line)
	}
	var errs LoadError
	for _, t := range p.Tags {
		sc.Tags = append(sc.Tags, t.Name)
		if err := sc.applyTag(t.Name); err != nil {
			errs = append(errs, fmt.Sprintf("%s:%d: %v", feat.File, sc.Line, err))
		}
	}
	if len(p.Steps) > maxSteps {
		errs = append(errs, fmt.Sprintf("%s:%d: %d steps, at most %d", feat.File, sc.Line, len(p.Steps), maxSteps))
		return sc, errs
	}
	for _, ps := range p.Steps {
		n := nodes[ps.AstNodeIds[0]]
		text := strings.TrimSpace(ps.Text)
		st := &Step{Keyword: n.keyword, Text: redact(text), Line: n.line}
		def, a, ok := match(text)
		switch {
		case !ok:
			errs = append(errs, unknownStep(feat.File, n.line, text, prior+len(errs) < maxErrors))
			continue
		case def.check != nil:
			if err := def.check(a); err != nil {
				errs = append(errs, fmt.Sprintf("%s:%d: %v", feat.File, n.line, err))
				continue
			}
		}
		st.def, st.args = def, a
		sc.Steps = append(sc.Steps, st)
	}
	if len(sc.Steps) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Sprintf("%s:%d: scenario %q has no steps", feat.File, sc.Line, sc.Name))
	}
	return sc, errs
}

// applyTag reads @warn=500ms and @crit=2s.
func (sc *Scenario) applyTag(tag string) error {
	key, val, ok := strings.Cut(strings.TrimPrefix(tag, "@"), "=")
	if !ok || (key != "warn" && key != "crit") {
		return nil
	}
	d, err := parseDur(val)
	if err != nil {
		return fmt.Errorf("tag %s: %v", tag, err)
	}
	if key == "warn" {
		sc.Warn = d
	} else {
		sc.Crit = d
	}
	return nil
}
