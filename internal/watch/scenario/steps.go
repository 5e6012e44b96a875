package scenario

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// stepDef is one built-in step: its wordings and what it does. Arguments
// are named groups so that wordings may order them differently.
type stepDef struct {
	kind     string   // short name for labels and docs
	wordings []string // regular expressions, anchored when compiled
	examples []string // shown in docs and in "did you mean"
	check    func(a args) error
	run      func(s *session, a args) error
	request  bool // makes an HTTP request (has phases)
}

// args are a matched step's named arguments.
type args map[string]string

const (
	quotedFmt = `"(?P<%s>[^"]*)"`      // a quoted argument
	urlArg    = `"?(?P<url>[^"\s]+)"?` // a URL, quotes optional
	durArg    = `(?P<dur>\d+(?:\.\d+)?\s*(?:ms|milliseconds?|s|secs?|seconds?))`
)

func quoted(name string) string { return fmt.Sprintf(quotedFmt, name) }

// defs are the built-in steps, in the order the docs list them.
var defs = []*stepDef{
	{kind: "base", wordings: []string{`the base URL is ` + urlArg},
		examples: []string{`the base URL is "https://example.org"`}, check: checkURL, run: (*session).setBase},
	{kind: "go", wordings: []string{`I (?:go|navigate) to ` + urlArg, `I (?:visit|open) ` + urlArg, `I am on ` + urlArg},
		examples: []string{`I go to "https://example.org/"`, `I visit /contact`, `I am on /`}, check: checkURL, run: (*session).goTo, request: true},
	{kind: "follow", wordings: []string{`I follow ` + quoted("link"), `I click (?:on )?(?:the )?link ` + quoted("link")},
		examples: []string{`I follow "Contact"`, `I click the link "Contact"`}, run: (*session).follow, request: true},
	{kind: "fill", wordings: []string{`I fill in ` + quoted("field") + ` with ` + quoted("value"),
		`I (?:enter|type) ` + quoted("value") + ` (?:in|into) (?:the )?` + quoted("field") + `(?: field)?`},
		examples: []string{`I fill in "Username" with "alice"`, `I enter "alice" into the "Username" field`}, run: (*session).fill},
	{kind: "select", wordings: []string{`I select ` + quoted("option") + ` from ` + quoted("field"),
		`I choose ` + quoted("option") + ` (?:in|from) (?:the )?` + quoted("field") + `(?: list)?`},
		examples: []string{`I select "French" from "Language"`}, run: (*session).selectOption},
	{kind: "check", wordings: []string{`I (?:check|tick) ` + quoted("box"), `I (?P<un>uncheck|untick) ` + quoted("box")},
		examples: []string{`I check "Remember me"`, `I uncheck "Newsletter"`}, run: (*session).check},
	{kind: "submit", wordings: []string{`I submit the form(?: named)? ` + quoted("form")},
		examples: []string{`I submit the form named "login"`}, run: (*session).submitNamed, request: true},
	{kind: "press", wordings: []string{`I press ` + quoted("button"), `I click (?:on )?the button ` + quoted("button")},
		examples: []string{`I press "Log in"`, `I click the button "Log in"`}, run: (*session).press, request: true},
	{kind: "see", wordings: []string{`I should see ` + quoted("text"), `the page should (?:contain|show) ` + quoted("text")},
		examples: []string{`I should see "Welcome"`, `the page should contain "Welcome"`}, run: (*session).see},
	{kind: "notsee", wordings: []string{`I should not see ` + quoted("text"), `the page should not (?:contain|show) ` + quoted("text")},
		examples: []string{`I should not see "Error"`}, run: (*session).notSee},
	{kind: "status", wordings: []string{`the (?:response )?status(?: code)? should be (?P<code>\d{3})`, `I should get an? (?P<code>\d{3})(?: response)?`},
		examples: []string{`the response status should be 200`, `I should get a 404`}, check: checkStatus, run: (*session).status},
	{kind: "header", wordings: []string{`the (?:response )?header ` + quoted("header") + ` should (?:contain|include) ` + quoted("value")},
		examples: []string{`the header "Content-Type" should contain "text/html"`}, run: (*session).header},
	{kind: "on", wordings: []string{`I should be on ` + urlArg, `the URL should be ` + urlArg},
		examples: []string{`I should be on "/welcome"`, `the URL should be https://example.org/`}, check: checkURL, run: (*session).on},
	{kind: "time", wordings: []string{`the step should take less than ` + durArg, `it should take (?:less than|under) ` + durArg},
		examples: []string{`the step should take less than 500ms`, `it should take under 2 seconds`}, check: checkDur, run: (*session).faster},
	{kind: "cert", wordings: []string{`the certificate should be valid for at least (?P<days>\d{1,4}) days?`,
		`the certificate should not expire within (?P<days>\d{1,4}) days?`},
		examples: []string{`the certificate should be valid for at least 14 days`}, check: checkDays, run: (*session).cert},
}

// matcher pairs a compiled wording with its step.
type matcher struct {
	re  *regexp.Regexp
	def *stepDef
}

// matchers are compiled once for the process.
var matchers = compileDefs()

func compileDefs() []matcher {
	var ms []matcher
	for _, d := range defs {
		for _, w := range d.wordings {
			ms = append(ms, matcher{regexp.MustCompile(`^(?i:` + w + `)$`), d})
		}
	}
	return ms
}

// match finds the step a text means and its arguments.
func match(text string) (*stepDef, args, bool) {
	text = strings.TrimSpace(text)
	for _, m := range matchers {
		sub := m.re.FindStringSubmatch(text)
		if sub == nil {
			continue
		}
		a := args{}
		for i, name := range m.re.SubexpNames() {
			if name != "" && sub[i] != "" {
				a[name] = sub[i]
			}
		}
		return m.def, a, true
	}
	return nil, nil, false
}

// redact hides the value of `fill in` steps in the text shown in reports,
// metrics labels, history and logs: feature files fill in passwords.
func redact(text string) string {
	for _, m := range matchers {
		if m.def.kind != "fill" {
			continue
		}
		idx := m.re.FindStringSubmatchIndex(text)
		if idx == nil {
			continue
		}
		g := m.re.SubexpIndex("value")
		return text[:idx[2*g]] + "***" + text[idx[2*g+1]:]
	}
	return text
}

var quotedRe = regexp.MustCompile(`"[^"]*"`)

// suggest lists the three known wordings closest to an unknown step, by
// edit distance with the quoted arguments blanked out.
func suggest(text string) []string {
	norm := strings.ToLower(quotedRe.ReplaceAllString(text, `""`))
	type cand struct {
		ex   string
		dist int
	}
	var cs []cand
	for _, d := range defs {
		for _, ex := range d.examples {
			cs = append(cs, cand{ex, editDistance(norm, strings.ToLower(quotedRe.ReplaceAllString(ex, `""`)))})
		}
	}
	slices.SortStableFunc(cs, func(a, b cand) int { return a.dist - b.dist })
	out := make([]string, 0, 3)
	for _, c := range cs[:3] {
		out = append(out, c.ex)
	}
	return out
}

// editDistance is Levenshtein's, on bytes, with inputs cut to 200 bytes so
// that a pathological line costs little.
func editDistance(a, b string) int {
	a, b = a[:min(len(a), 200)], b[:min(len(b), 200)]
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func checkURL(a args) error {
	u, err := url.Parse(a["url"])
	if err != nil {
		return fmt.Errorf("bad URL %q: %v", a["url"], err)
	}
	if u.IsAbs() && u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("URL %q: only http and https are supported", a["url"])
	}
	if u.IsAbs() && u.Host == "" {
		return fmt.Errorf("URL %q has no host", a["url"])
	}
	return nil
}

func checkStatus(a args) error {
	if n, _ := strconv.Atoi(a["code"]); n < 100 || n > 599 {
		return fmt.Errorf("status %s is not an HTTP status (100-599)", a["code"])
	}
	return nil
}

func checkDays(a args) error {
	if n, _ := strconv.Atoi(a["days"]); n < 1 {
		return fmt.Errorf("days must be at least 1")
	}
	return nil
}

func checkDur(a args) error {
	_, err := parseDur(a["dur"])
	return err
}

// parseDur reads "500ms", "2 seconds", "1.5s".
func parseDur(s string) (time.Duration, error) {
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i <= 0 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	n, err := strconv.ParseFloat(s[:i], 64)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	unit := time.Second
	if strings.HasPrefix(strings.TrimSpace(s[i:]), "m") {
		unit = time.Millisecond
	}
	d := time.Duration(n * float64(unit))
	if d <= 0 || d > time.Hour {
		return 0, fmt.Errorf("duration %q must be above 0 and at most 1h", s)
	}
	return d, nil
}
