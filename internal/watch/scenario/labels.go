package scenario

import (
	"regexp"
	"strings"
)

var slugRe = regexp.MustCompile(`[^a-z0-9]+`)

// Slug makes a bounded identifier from free text: lower case letters,
// digits and underscores, at most n bytes.
func Slug(s string, n int) string {
	s = strings.Trim(slugRe.ReplaceAllString(strings.ToLower(s), "_"), "_")
	if len(s) > n {
		s = strings.TrimRight(s[:n], "_")
	}
	if s == "" {
		s = "x"
	}
	return s
}

// Labels are a scenario's bounded metric label values (feature, scenario).
// Load refuses two scenarios that share them.
func (sc *Scenario) Labels() []string {
	return []string{Slug(sc.Feature, 48), Slug(sc.Name, 64)}
}
