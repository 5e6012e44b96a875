package aliases

import (
	"fmt"
	"sort"
	"strings"
)

// Qualify completes a bare local part with domain.
func Qualify(addr, domain string) string {
	if addr == "" || strings.Contains(addr, "@") || domain == "" {
		return addr
	}
	return addr + "@" + domain
}

// Expand returns the final recipients of addr, qualified with domain.
// Only bare addresses and addresses in domain are looked up. An alias that
// names itself ("root: root, ops") keeps itself as a final recipient, as
// sendmail does; a longer cycle is an error, as is an expansion deeper than
// 20 levels or wider than MaxExpansion addresses.
func (t *Table) Expand(addr, domain string) ([]string, error) {
	e := expander{t: t, domain: domain, seen: map[string]bool{}}
	if err := e.walk(Qualify(addr, domain), nil); err != nil {
		return nil, err
	}
	return e.out, nil
}

type expander struct {
	t      *Table
	domain string
	out    []string
	seen   map[string]bool // final addresses already in out
}

func (e *expander) walk(addr string, path []string) error {
	name, ok := e.lookupName(addr)
	targets := e.t.m[name]
	if !ok || targets == nil {
		return e.final(addr)
	}
	for _, p := range path {
		if p == name {
			return fmt.Errorf("alias loop: %s -> %s", strings.Join(path, " -> "), name)
		}
	}
	if len(path) >= maxDepth {
		return fmt.Errorf("alias %s: nested more than %d levels", path[0], maxDepth)
	}
	path = append(path, name)
	for _, tgt := range targets {
		q := Qualify(tgt, e.domain)
		if n, ok := e.lookupName(q); ok && n == name {
			if err := e.final(q); err != nil {
				return err
			}
			continue
		}
		if err := e.walk(q, path); err != nil {
			return err
		}
	}
	return nil
}

// lookupName gives the alias key of a local address.
func (e *expander) lookupName(addr string) (string, bool) {
	local, dom, _ := strings.Cut(addr, "@")
	if dom != "" && !strings.EqualFold(dom, e.domain) {
		return "", false
	}
	return strings.ToLower(local), true
}

func (e *expander) final(addr string) error {
	if err := CheckAddress(addr); err != nil {
		return err // a bare name that is too long once qualified
	}
	key := strings.ToLower(addr)
	if e.seen[key] {
		return nil
	}
	if len(e.out) >= MaxExpansion {
		return fmt.Errorf("expands to more than %d addresses", MaxExpansion)
	}
	e.seen[key] = true
	e.out = append(e.out, addr)
	return nil
}

// Check expands every alias and reports loops and runaway expansions at the
// line of the alias where they start.
func (t *Table) Check(domain string) []Problem {
	names := make([]string, 0, len(t.m))
	for n := range t.m {
		names = append(names, n)
	}
	sort.Strings(names)
	var probs []Problem
	for _, n := range names {
		if _, err := t.Expand(n, domain); err != nil {
			probs = append(probs, Problem{t.lines[n], err.Error()})
		}
	}
	return probs
}
