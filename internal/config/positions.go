package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// entry is one key, table header or array element written in the file.
type entry struct {
	path  []step // the key, step by step
	key   string // the path written out: "site[1].route[2].proxy"
	line  int
	kind  unstable.Kind   // Table, ArrayTable, or the kind of the value
	elems []unstable.Kind // kinds of an array value's elements
}

// step is one component of a key; index counts array elements from 1 (0
// when the step is not an array element).
type step struct {
	name  string
	index int
}

// document is what one pass over a TOML file learns: every key with its
// line, in order, so that errors found after decoding still point into the
// file. It is built in one pass, linear in the file's size.
type document struct {
	entries []entry
	lines   map[string]int
	arrays  map[string]int // array-of-tables path -> elements so far
	// newlines are the offsets of the file's line ends: a line is found
	// by binary search, not by counting from the start (go-toml's Shape)
	// once per key, which is quadratic in the number of keys.
	newlines []int
}

// scan reads a document's keys; a syntax error is returned located.
func scan(data []byte) (*document, *Problem) {
	d := &document{lines: map[string]int{}, arrays: map[string]int{}}
	for i, b := range data {
		if b == '\n' {
			d.newlines = append(d.newlines, i)
		}
	}
	var p unstable.Parser
	p.Reset(data)
	var table []step
	for p.NextExpression() {
		e := p.Expression()
		line := d.exprLine(e)
		names := keyParts(e)
		switch e.Kind {
		case unstable.Table:
			table = d.resolve(nil, names)
			d.add(table, line, unstable.Table, nil)
		case unstable.ArrayTable:
			table = d.resolve(nil, names[:len(names)-1])
			last := pathKey(append(table, step{name: names[len(names)-1]}))
			d.arrays[last]++
			table = append(table, step{name: names[len(names)-1], index: d.arrays[last]})
			d.add(table, line, unstable.ArrayTable, nil)
		case unstable.KeyValue:
			d.value(d.resolve(table, names), e.Value(), line)
		}
	}
	if err := p.Error(); err != nil {
		line := 0
		msg := err.Error()
		if pe, ok := err.(*unstable.ParserError); ok {
			line = d.line(int(p.Range(pe.Highlight).Offset))
			msg = pe.Message
		}
		return nil, &Problem{Line: line, Msg: "TOML syntax: " + msg}
	}
	return d, nil
}

// resolve appends names to base, entering the latest element of every
// array of tables on the way, as TOML does.
func (d *document) resolve(base []step, names []string) []step {
	out := append([]step(nil), base...)
	for _, n := range names {
		out = append(out, step{name: n})
		if k, ok := d.arrays[pathKey(out)]; ok {
			out[len(out)-1].index = k
		}
	}
	return out
}

func (d *document) add(path []step, line int, kind unstable.Kind, elems []unstable.Kind) {
	key := pathKey(path)
	d.entries = append(d.entries, entry{path: path, key: key, line: line, kind: kind, elems: elems})
	if _, ok := d.lines[key]; !ok {
		d.lines[key] = line
	}
}

// value records a key and the keys inside an inline table or an array of
// inline tables.
func (d *document) value(path []step, v *unstable.Node, line int) {
	if v == nil {
		return
	}
	var elems []unstable.Kind
	if v.Kind == unstable.Array {
		it := v.Children()
		for it.Next() {
			elems = append(elems, it.Node().Kind)
		}
	}
	d.add(path, line, v.Kind, elems)
	switch v.Kind {
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			kv := it.Node()
			if kv.Kind == unstable.KeyValue {
				d.value(d.resolve(path, keyParts(kv)), kv.Value(), d.exprLine(kv))
			}
		}
	case unstable.Array:
		it := v.Children()
		for i := 1; it.Next(); i++ {
			if n := it.Node(); n.Kind == unstable.InlineTable {
				elem := append(append([]step(nil), path[:len(path)-1]...), step{name: path[len(path)-1].name, index: i})
				d.value(elem, n, line)
			}
		}
	}
}

// exprLine is the line of an expression, taken from its key: table headers
// carry no range of their own.
func (d *document) exprLine(e *unstable.Node) int {
	it := e.Key()
	if it.Next() {
		if k := it.Node(); k.Raw.Length > 0 {
			return d.line(int(k.Raw.Offset))
		}
	}
	return d.line(int(e.Raw.Offset))
}

// line is the 1-based line of a byte offset.
func (d *document) line(offset int) int {
	return sort.SearchInts(d.newlines, offset) + 1
}

func keyParts(n *unstable.Node) []string {
	var parts []string
	it := n.Key()
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}

// pathKey writes a key as messages show it, with 1-based indexes as an
// operator counts them.
func pathKey(path []step) string {
	var b strings.Builder
	for i, s := range path {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.name)
		if s.index > 0 {
			fmt.Fprintf(&b, "[%d]", s.index)
		}
	}
	return b.String()
}

// keyLines maps every key path of a document to its line.
func keyLines(data []byte) map[string]int {
	d, _ := scan(data)
	if d == nil {
		return nil
	}
	return d.lines
}
