package config

import (
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// keyLines maps every key path in a TOML document ("site[1].route[2].proxy",
// 1-based array indices as an operator counts them) to its line, so that
// errors found after decoding still point into the file.
func keyLines(data []byte) map[string]int {
	lines := map[string]int{}
	arrays := map[string]int{} // array-of-tables path -> elements so far
	resolve := func(parts []string) string {
		cur := ""
		for _, p := range parts {
			cur = joinKey(cur, p)
			if n, ok := arrays[cur]; ok {
				cur = fmt.Sprintf("%s[%d]", cur, n)
			}
		}
		return cur
	}
	var p unstable.Parser
	p.Reset(data)
	table := ""
	for p.NextExpression() {
		e := p.Expression()
		line := exprLine(&p, e)
		parts := keyParts(e)
		switch e.Kind {
		case unstable.Table:
			table = resolve(parts)
			setLine(lines, table, line)
		case unstable.ArrayTable:
			name := joinKey(resolve(parts[:len(parts)-1]), parts[len(parts)-1])
			arrays[name]++
			table = fmt.Sprintf("%s[%d]", name, arrays[name])
			setLine(lines, table, line)
		case unstable.KeyValue:
			walkValue(lines, joinKey(table, strings.Join(parts, ".")), e.Value(), line, &p)
		}
	}
	return lines
}

// walkValue records the key and, for inline tables, the keys inside them.
func walkValue(lines map[string]int, key string, v *unstable.Node, line int, p *unstable.Parser) {
	setLine(lines, key, line)
	if v == nil || v.Kind != unstable.InlineTable {
		return
	}
	it := v.Children()
	for it.Next() {
		kv := it.Node()
		if kv.Kind != unstable.KeyValue {
			continue
		}
		walkValue(lines, joinKey(key, strings.Join(keyParts(kv), ".")), kv.Value(), exprLine(p, kv), p)
	}
}

// exprLine is the line of an expression, taken from its key: table headers
// carry no range of their own.
func exprLine(p *unstable.Parser, e *unstable.Node) int {
	it := e.Key()
	if it.Next() {
		if k := it.Node(); k.Raw.Length > 0 {
			return p.Shape(k.Raw).Start.Line
		}
	}
	return p.Shape(e.Raw).Start.Line
}

func keyParts(n *unstable.Node) []string {
	var parts []string
	it := n.Key()
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}

func setLine(lines map[string]int, key string, line int) {
	if _, ok := lines[key]; !ok {
		lines[key] = line
	}
}

func joinKey(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}
