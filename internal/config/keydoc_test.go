package config

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the key tables of README.md from KeyDocs")

// schemaKey is one key the file can hold.
type schemaKey struct {
	table bool // a table ([x]); array: a list of tables ([[x]])
	array bool
}

// schemaKeys lists every key of the Config type by its dotted path: the
// tables and lists of tables, and the values below them. A table decoded
// as one value of its own type (a Duration) is a value.
func schemaKeys() map[string]schemaKey {
	keys := map[string]schemaKey{}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for _, f := range reflect.VisibleFields(t) {
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if name == "" || name == "-" {
				continue
			}
			ft := deref(f.Type)
			if ft.Kind() == reflect.Slice && deref(ft.Elem()).Kind() == reflect.Struct {
				keys[prefix+name] = schemaKey{table: true, array: true}
				walk(deref(ft.Elem()), prefix+name+".")
				continue
			}
			keys[prefix+name] = schemaKey{table: hasKeys(ft)}
			if hasKeys(ft) {
				walk(ft, prefix+name+".")
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return keys
}

// TestKeyDocsMatchSchema: every key the file can hold is documented (by a
// row of its own or of a table it is in, like `headers`), every row and
// table names a real key, written with the right brackets, and no key is
// documented twice except a "(top level)" reminder. Adding a key to the
// schema without a README row, or renaming one, fails here.
func TestKeyDocsMatchSchema(t *testing.T) {
	keys := schemaKeys()
	documented := map[string]bool{}
	for _, tab := range KeyDocs() {
		if p := tab.Path(); p != "" {
			k, ok := keys[p]
			want := "[" + p + "]"
			if k.array {
				want = "[[" + p + "]]"
			}
			if !ok || !k.table || tab.Header != want {
				t.Errorf("table %q: no such table in the schema (want %q)", tab.Header, want)
			}
		}
		for _, r := range tab.Rows {
			names := tab.Names(r)
			if len(names) == 0 {
				t.Errorf("%s row %q names no key", tab.Header, r.Key)
			}
			for _, n := range names {
				if _, ok := keys[n]; !ok {
					t.Errorf("%s row %q: %s is no key of the schema", tab.Header, r.Key, n)
				}
				if documented[n] && !strings.HasSuffix(r.Key, " (top level)") {
					t.Errorf("%s row %q: %s documented twice", tab.Header, r.Key, n)
				}
				documented[n] = true
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if keys[k].table {
			continue
		}
		if !documented[k] && !documentedAbove(k, documented) {
			t.Errorf("key %s has no row in KeyDocs (internal/config/keydoc.go)", k)
		}
	}
}

func documentedAbove(key string, documented map[string]bool) bool {
	for i := strings.LastIndex(key, "."); i > 0; i = strings.LastIndex(key[:i], ".") {
		if documented[key[:i]] {
			return true
		}
	}
	return false
}

func TestKeyNames(t *testing.T) {
	ssh := KeyTable{Header: "[ssh]"}
	for _, c := range []struct {
		tab  KeyTable
		key  string
		want []string
	}{
		{KeyTable{}, "`state_dir`", []string{"state_dir"}},
		{KeyTable{Header: "[[site]]"}, "`cert`, `key`", []string{"site.cert", "site.key"}},
		{ssh, "`defender.failures` / `window` / `block_for`", []string{"ssh.defender.failures", "ssh.defender.window", "ssh.defender.block_for"}},
		{ssh, "`user.password` / `password_file`", []string{"ssh.user.password", "ssh.user.password_file"}},
		{KeyTable{Header: "[admin]"}, "`trusted_proxies` (top level)", []string{"trusted_proxies"}},
	} {
		if got := c.tab.Names(KeyRow{Key: c.key}); !slices.Equal(got, c.want) {
			t.Errorf("%s %q: got %q, want %q", c.tab.Header, c.key, got, c.want)
		}
	}
}

const readmePath = "../../README.md"

// keysRegion is one generated table of README.md: the marker names the
// table, the text between the markers is replaced by -update.
var keysRegion = regexp.MustCompile(`(?s)<!-- keys ([^>]*?) -->\n(.*?)<!-- /keys -->`)

// TestREADMEKeyTables: the config tables of README.md are KeyDocs
// rendered, each between its markers, in the same order.
func TestREADMEKeyTables(t *testing.T) {
	data, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	tables := KeyDocs()
	var names []string
	for _, m := range keysRegion.FindAllStringSubmatch(readme, -1) {
		names = append(names, m[1])
	}
	var want []string
	for _, tab := range tables {
		want = append(want, regionName(tab))
	}
	if !slices.Equal(names, want) {
		t.Fatalf("README.md has the key table markers %q, want %q: each table of KeyDocs between <!-- keys NAME --> and <!-- /keys -->, in that order", names, want)
	}
	i := 0
	got := keysRegion.ReplaceAllStringFunc(readme, func(string) string {
		tab := tables[i]
		i++
		return "<!-- keys " + regionName(tab) + " -->\n" + markdownTable(tab) + "<!-- /keys -->"
	})
	if got == readme {
		return
	}
	if *update {
		if err := os.WriteFile(readmePath, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's key tables differ from KeyDocs (internal/config/keydoc.go): edit KeyDocs, then run `go test ./internal/config -run READMEKeyTables -update`")
}

func regionName(t KeyTable) string {
	if t.Header == "" {
		return "top level"
	}
	return t.Header
}

func markdownTable(t KeyTable) string {
	var b strings.Builder
	b.WriteString("| key | default | meaning |\n|---|---|---|\n")
	for _, r := range t.Rows {
		for _, cell := range []string{r.Key, r.Default, r.Meaning} {
			b.WriteString("| ")
			if cell != "" {
				b.WriteString(cell + " ")
			}
		}
		b.WriteString("|\n")
	}
	return b.String()
}

// TestKeyDocsLinks: every README anchor a row links to is a heading of
// README.md, so the links also work in the README and are dropped
// knowingly in the man page.
func TestKeyDocsLinks(t *testing.T) {
	data, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, h := range regexp.MustCompile(`(?m)^#+ (.*)$`).FindAllStringSubmatch(string(data), -1) {
		anchors[githubAnchor(h[1])] = true
	}
	link := regexp.MustCompile(`\]\(([^)]*)\)`)
	for _, tab := range KeyDocs() {
		for _, r := range tab.Rows {
			for _, m := range link.FindAllStringSubmatch(r.Key+r.Default+r.Meaning, -1) {
				if a, ok := strings.CutPrefix(m[1], "#"); !ok || !anchors[a] {
					t.Errorf("%s row %q links to %q: not a heading of README.md", tab.Header, r.Key, m[1])
				}
			}
		}
	}
}

// githubAnchor is the id GitHub gives a heading: lower case, punctuation
// dropped, spaces as hyphens.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// describedInWords are the keys whose default column says in words what
// Defaults holds.
var describedInWords = map[string]bool{"ssh.ciphers": true}

// TestKeyDocsDefaults: a row of one value whose default is in Defaults()
// shows that value (quoted or not), so the default column cannot drift
// from the code either. A table's row (cache) says what leaving it out
// means.
func TestKeyDocsDefaults(t *testing.T) {
	keys := schemaKeys()
	checked := 0
	for _, tab := range KeyDocs() {
		for _, r := range tab.Rows {
			names := tab.Names(r)
			if len(names) != 1 || keys[names[0]].table || describedInWords[names[0]] || strings.HasSuffix(r.Key, " (top level)") {
				continue
			}
			v := defaultAt(names[0])
			if !v.IsValid() || v.IsZero() {
				continue
			}
			quoted, raw := tomlValue(v)
			if r.Default != raw && !strings.Contains(r.Default, "`"+quoted+"`") && !strings.Contains(r.Default, "`"+raw+"`") {
				t.Errorf("%s row %q: default %q, but Defaults() has %s", tab.Header, r.Key, r.Default, quoted)
			}
			checked++
		}
	}
	t.Logf("%d defaults checked", checked)
	if checked < 50 {
		t.Errorf("only %d defaults checked", checked)
	}
}

// defaultAt is the value Defaults() gives the key at a dotted path (the
// first element's, in a list of tables), or no value.
func defaultAt(path string) reflect.Value {
	v := reflect.ValueOf(Defaults())
	for _, name := range strings.Split(path, ".") {
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Pointer {
			if v.Kind() == reflect.Slice {
				if v.Len() == 0 {
					return reflect.Value{}
				}
				v = v.Index(0)
			}
			if v.IsNil() {
				return reflect.Value{}
			}
			v = v.Elem()
		}
		f, ok := fieldByKey(v.Type(), name)
		if !ok {
			return reflect.Value{}
		}
		v = v.FieldByIndex(f.Index)
	}
	return v
}

// tomlValue writes a default as the file would hold it, and bare.
func tomlValue(v reflect.Value) (quoted, raw string) {
	if m, ok := v.Interface().(interface{ MarshalText() ([]byte, error) }); ok {
		b, _ := m.MarshalText()
		return `"` + string(b) + `"`, string(b)
	}
	v = reflect.Indirect(v)
	switch v.Kind() {
	case reflect.String:
		return `"` + v.String() + `"`, v.String()
	case reflect.Slice:
		elems := make([]string, v.Len())
		for i := range elems {
			elems[i], _ = tomlValue(v.Index(i))
		}
		s := "[" + strings.Join(elems, ", ") + "]"
		return s, s
	}
	s := fmt.Sprint(v.Interface())
	return s, s
}
