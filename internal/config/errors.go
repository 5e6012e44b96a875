package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong (or worth a warning) in a config file, located
// so an operator can go straight to the line.
type Problem struct {
	File string
	Line int    // 0 when the key is not in the file (a missing required key)
	Key  string // dotted path, e.g. site[1].route[2].proxy
	Msg  string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// MaxReported is how many problems an error message lists; a file of
// 60 000 mistakes is reported by its first ones and a count.
const MaxReported = 100

// Errors is every error found in one config file. Load reports them all at
// once so an operator fixes a file in one round, as with `nginx -t`.
type Errors []Problem

func (e Errors) Error() string {
	n := min(len(e), MaxReported)
	lines := make([]string, n, n+1)
	for i, p := range e[:n] {
		lines[i] = p.String()
	}
	if len(e) > n {
		lines = append(lines, fmt.Sprintf("and %d more", len(e)-n))
	}
	return strings.Join(lines, "\n")
}
