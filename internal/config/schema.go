package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// checkSchema checks every key written in the file against the Config
// struct before decoding: unknown keys (with a suggestion), values of the
// wrong type and tables written with the wrong brackets, in the operator's
// words and with array indexes. One pass, linear in the number of keys.
func (d *document) checkSchema(file string) Errors {
	var out Errors
	bad := map[string]bool{} // keys already reported: nothing below them is
	for _, e := range d.entries {
		if msg, at := schemaProblem(e, bad); msg != "" {
			key := pathKey(e.path[:at+1])
			bad[key] = true
			out = append(out, Problem{File: file, Line: e.line, Key: key, Msg: msg})
		}
	}
	return out
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// schemaProblem walks e's path through the Config type and returns what is
// wrong and at which step, or "".
func schemaProblem(e entry, bad map[string]bool) (string, int) {
	t := reflect.TypeFor[Config]()
	var what string
	for i, s := range e.path {
		if bad[pathKey(e.path[:i+1])] {
			return "", 0
		}
		switch t.Kind() {
		case reflect.Interface:
			return "", 0 // any value goes; the part that reads it checks it
		case reflect.Map:
			t, what = t.Elem(), ""
		case reflect.Struct:
			f, ok := fieldByKey(t, s.name)
			if !ok {
				return unknownKey(t, s.name), i
			}
			t, what = f.Type, f.Tag.Get("what")
		default:
			return fmt.Sprintf("must be %s, got a table", describe(t, what)), i - 1
		}
		t = deref(t)
		if s.index > 0 {
			if t.Kind() != reflect.Slice || deref(t.Elem()).Kind() != reflect.Struct {
				return fmt.Sprintf("must be %s, got a list of tables", describe(t, what)), i
			}
			t = deref(t.Elem())
		}
	}
	if msg := kindProblem(t, what, e); msg != "" {
		return msg, len(e.path) - 1
	}
	return "", 0
}

func deref(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Pointer {
		return t.Elem()
	}
	return t
}

func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for _, f := range reflect.VisibleFields(t) {
		if name, _, _ := strings.Cut(f.Tag.Get("toml"), ","); name == key && name != "-" {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// unknownKey suggests the nearest known key of the table, if one is close.
func unknownKey(t reflect.Type, key string) string {
	best, bestD := "", 3
	for _, f := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "" || name == "-" {
			continue
		}
		if d := editDistance(key, name); d < bestD && d <= max(1, len(name)/3) {
			best, bestD = name, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown key; did you mean %q?", best)
	}
	return "unknown key (see the config reference in README.md)"
}

// editDistance is the edit distance between two short keys, counting a
// swap of two neighbours ("paht") as one edit (optimal string alignment).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// kindProblem compares what the file holds at a key with the Go type the
// key decodes into.
func kindProblem(t reflect.Type, what string, e entry) string {
	if fits(t, e.kind, e.elems) {
		return ""
	}
	got := kindName(e.kind)
	if e.kind == unstable.Table && t.Kind() == reflect.Slice {
		names := make([]string, len(e.path))
		for i, s := range e.path {
			names[i] = s.name
		}
		return fmt.Sprintf("must be a list of tables: write [[%s]], with double brackets", strings.Join(names, "."))
	}
	if e.kind == unstable.Array && len(e.elems) > 0 && t.Kind() == reflect.Slice {
		got = "a list holding " + kindName(firstMisfit(t.Elem(), e.elems))
	}
	return fmt.Sprintf("must be %s, got %s", describe(t, what), got)
}

func firstMisfit(t reflect.Type, elems []unstable.Kind) unstable.Kind {
	for _, k := range elems {
		if !fits(t, k, nil) {
			return k
		}
	}
	return elems[0]
}

func fits(t reflect.Type, k unstable.Kind, elems []unstable.Kind) bool {
	t = deref(t)
	switch {
	case t.Kind() == reflect.Interface:
		return true
	case reflect.PointerTo(t).Implements(textUnmarshaler):
		// A table with keys of its own (cache) may also be written short,
		// as one string; a Duration or Size only as a string.
		return k == unstable.String || hasKeys(t) && (k == unstable.Table || k == unstable.InlineTable)
	}
	switch t.Kind() {
	case reflect.String:
		return k == unstable.String
	case reflect.Bool:
		return k == unstable.Bool
	case reflect.Int, reflect.Int64:
		return k == unstable.Integer
	case reflect.Float64:
		return k == unstable.Integer || k == unstable.Float
	case reflect.Struct:
		// A list element's header ([[site]]) reaches here as its table.
		return k == unstable.Table || k == unstable.InlineTable || k == unstable.ArrayTable
	case reflect.Map:
		return k == unstable.Table || k == unstable.InlineTable
	case reflect.Slice:
		if k == unstable.ArrayTable {
			return deref(t.Elem()).Kind() == reflect.Struct
		}
		if k != unstable.Array {
			return false
		}
		for _, ek := range elems {
			if !fits(t.Elem(), ek, nil) {
				return false
			}
		}
		return true
	}
	return false
}

// hasKeys reports whether struct type t has fields the file can name.
func hasKeys(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	for _, f := range reflect.VisibleFields(t) {
		if name, _, _ := strings.Cut(f.Tag.Get("toml"), ","); name != "" && name != "-" {
			return true
		}
	}
	return false
}

// describe says in words what a key of type t holds; a field's `what` tag
// says it better where the type alone is vague.
func describe(t reflect.Type, what string) string {
	if what != "" {
		return what
	}
	t = deref(t)
	switch {
	case t == reflect.TypeFor[Duration]():
		return `a duration in quotes (like "30s")`
	case t == reflect.TypeFor[Size]():
		return `a size in quotes (like "25MB")`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string in quotes"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "a table"
	case reflect.Slice:
		if deref(t.Elem()).Kind() == reflect.Struct {
			return "a list of tables"
		}
		switch deref(t.Elem()).Kind() {
		case reflect.String:
			return "a list of strings"
		case reflect.Int, reflect.Int64:
			return "a list of whole numbers"
		}
		return "a list"
	}
	return "something else"
}

func kindName(k unstable.Kind) string {
	switch k {
	case unstable.String:
		return "a string"
	case unstable.Bool:
		return "true or false"
	case unstable.Integer:
		return "a whole number"
	case unstable.Float:
		return "a number with a fraction"
	case unstable.Array:
		return "a list"
	case unstable.Table, unstable.InlineTable:
		return "a table"
	case unstable.ArrayTable:
		return "a list of tables"
	case unstable.DateTime, unstable.LocalDate, unstable.LocalDateTime, unstable.LocalTime:
		return "a date or time"
	}
	return "a " + k.String()
}
