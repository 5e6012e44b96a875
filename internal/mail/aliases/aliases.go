// Package aliases reads /etc/aliases-style files and expands local
// recipients through them, as a leaf-node MTA does before handing mail to a
// smarthost.
//
// The format is the classic one: "name: address, address", comments from a
// '#' at the start of a line, continuation lines starting with white space.
// bartleby delivers nothing locally, so "|command", "/file" and
// ":include:" entries are problems reported by `bartleby check`, never
// silently dropped.
package aliases

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Limits on what one file may hold, so a mistaken path cannot eat memory.
const (
	MaxFileSize   = 4 << 20
	maxLine       = 64 << 10
	maxTargets    = 1000 // per alias
	MaxExpansion  = 1000 // addresses one recipient may expand to
	maxDepth      = 20
	maxNameLength = 256
)

// Problem is one thing wrong in the file, at a line.
type Problem struct {
	Line int
	Msg  string
}

func (p Problem) String() string { return fmt.Sprintf("line %d: %s", p.Line, p.Msg) }

// Table maps a lower-cased local part to its targets.
type Table struct {
	m     map[string][]string
	lines map[string]int
}

// Len is the number of aliases.
func (t *Table) Len() int { return len(t.m) }

// Parse reads an aliases file. Entries with problems are left out of the
// table and reported; the rest is usable.
func Parse(r io.Reader) (*Table, []Problem) {
	t := &Table{m: map[string][]string{}, lines: map[string]int{}}
	var probs []Problem
	var entry strings.Builder
	start, n := 0, 0
	flush := func() {
		if entry.Len() > 0 {
			probs = append(probs, t.add(start, entry.String())...)
		}
		entry.Reset()
	}
	sc := bufio.NewScanner(io.LimitReader(r, MaxFileSize))
	sc.Buffer(make([]byte, 4096), maxLine)
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.HasPrefix(strings.TrimSpace(line), "#") && !startsBlank(line):
			continue
		case strings.TrimSpace(line) == "":
			flush()
		case startsBlank(line):
			if entry.Len() == 0 {
				probs = append(probs, Problem{n, "continuation line without an alias before it"})
				continue
			}
			if strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			entry.WriteString(" ")
			entry.WriteString(strings.TrimSpace(line))
		default:
			flush()
			start = n
			entry.WriteString(line)
		}
	}
	if err := sc.Err(); err != nil {
		probs = append(probs, Problem{n + 1, fmt.Sprintf("cannot read: %v", err)})
	}
	flush()
	return t, probs
}

func startsBlank(s string) bool { return s != "" && (s[0] == ' ' || s[0] == '\t') }

// add parses one logical entry "name: a, b".
func (t *Table) add(line int, s string) []Problem {
	name, rest, ok := strings.Cut(s, ":")
	name = strings.ToLower(strings.TrimSpace(name))
	switch {
	case !ok:
		return []Problem{{line, fmt.Sprintf("%q: expected \"name: address, …\"", clip(s))}}
	case name == "" || len(name) > maxNameLength || strings.ContainsAny(name, " \t,@\"<>"):
		return []Problem{{line, fmt.Sprintf("%q is not a valid alias name", clip(name))}}
	}
	if prev, dup := t.lines[name]; dup {
		return []Problem{{line, fmt.Sprintf("alias %q is already defined on line %d", name, prev)}}
	}
	targets, probs := splitTargets(line, rest)
	if len(targets) > maxTargets {
		return append(probs, Problem{line, fmt.Sprintf("alias %q has more than %d targets", name, maxTargets)})
	}
	if len(targets) == 0 && len(probs) == 0 {
		probs = append(probs, Problem{line, fmt.Sprintf("alias %q has no target", name)})
	}
	if len(probs) > 0 {
		return probs
	}
	t.m[name] = targets
	t.lines[name] = line
	return nil
}

// splitTargets splits on commas outside double quotes and checks each one.
func splitTargets(line int, s string) ([]string, []Problem) {
	var out []string
	var probs []Problem
	var cur strings.Builder
	quoted := false
	end := func() {
		tgt := strings.TrimSpace(cur.String())
		cur.Reset()
		if tgt == "" {
			return
		}
		if msg := unsupported(tgt); msg != "" {
			probs = append(probs, Problem{line, msg})
			return
		}
		addr := strings.TrimSuffix(strings.TrimPrefix(tgt, "<"), ">")
		if err := CheckAddress(addr); err != nil {
			probs = append(probs, Problem{line, err.Error()})
			return
		}
		out = append(out, addr)
	}
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case r == ',' && !quoted:
			end()
		default:
			cur.WriteRune(r)
		}
	}
	if quoted {
		probs = append(probs, Problem{line, "unterminated double quote"})
	}
	end()
	return out, probs
}

// unsupported explains targets bartleby will not deliver to.
func unsupported(tgt string) string {
	t := strings.Trim(tgt, "\"")
	switch {
	case strings.HasPrefix(t, "|"):
		return fmt.Sprintf("%q: delivery to a command is not supported (bartleby delivers only to the smarthost)", clip(tgt))
	case strings.HasPrefix(t, "/"):
		return fmt.Sprintf("%q: delivery to a file is not supported (bartleby delivers only to the smarthost)", clip(tgt))
	case strings.HasPrefix(strings.ToLower(t), ":include:"):
		return fmt.Sprintf("%q: :include: is not supported; list the addresses in the aliases file", clip(tgt))
	case strings.HasPrefix(t, "\""):
		return fmt.Sprintf("%q: quoted targets are not supported", clip(tgt))
	}
	return ""
}

// CheckAddress accepts "local" or "local@domain" without spaces, quotes or
// control characters: what a recipient in a leaf node's queue may be.
func CheckAddress(a string) error {
	if a == "" || len(a) > 254 {
		return fmt.Errorf("%q is not a valid address", clip(a))
	}
	for _, r := range a {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("\"<>(),;:\\[]", r) {
			return fmt.Errorf("%q is not a valid address", clip(a))
		}
	}
	local, domain, hasAt := strings.Cut(a, "@")
	if local == "" || (hasAt && (domain == "" || strings.Contains(domain, "@") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, "."))) {
		return fmt.Errorf("%q is not a valid address", clip(a))
	}
	return nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
