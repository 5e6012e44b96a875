package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestManyUnknownKeys: 60 000 unknown keys are all found, each on its own
// line, by one pass over the file (no per-key position lookup), and the
// message lists the first MaxReported and counts the rest.
func TestManyUnknownKeys(t *testing.T) {
	const n = 60000
	var b strings.Builder
	b.WriteString("[admin]\n")
	for i := range n {
		fmt.Fprintf(&b, "k%d = 1\n", i)
	}
	_, err := Parse("/x/b.toml", []byte(b.String()))
	errs, ok := err.(Errors)
	if !ok || len(errs) != n {
		t.Fatalf("want %d problems, got %T with %d", n, err, len(errs))
	}
	for _, i := range []int{0, n / 2, n - 1} {
		if p := errs[i]; p.Line != i+2 || p.Key != fmt.Sprintf("admin.k%d", i) {
			t.Errorf("problem %d: %+v", i, p)
		}
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != MaxReported+1 || lines[MaxReported] != fmt.Sprintf("and %d more", n-MaxReported) {
		t.Errorf("message has %d lines, last %q", len(lines), lines[len(lines)-1])
	}
}

func TestSchemaMessages(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"[[site]]\nhosts = [\"a\"]\n[[site.route]]\npaht = \"/\"\n", `/x/b.toml:4: site[1].route[1].paht: unknown key; did you mean "path"?`},
		{"[admin]\nusers = \"x\"\n", "/x/b.toml:2: admin.users: must be a table, got a string"},
		{"[[site]]\nhosts = [\"a\", 1]\n", "/x/b.toml:2: site[1].hosts: must be a list of names, got a list holding a whole number"},
		{"[[site]]\nhosts = [\"a\"]\nroute = [{ path = \"/\", rot = \"/w\" }]\n", `/x/b.toml:3: site[1].route[1].rot: unknown key; did you mean "root"?`},
		{"[[admin]]\nlisten = \"x\"\n", "/x/b.toml:1: admin[1]: must be a table, got a list of tables"},
		{"[ssh]\nmax_auth_tries = 1.5\n", "/x/b.toml:2: ssh.max_auth_tries: must be a whole number, got a number with a fraction"},
		{"[watch]\nevery = 5\n", `/x/b.toml:2: watch.every: must be a duration in quotes (like "30s"), got a whole number`},
		{"a = 1\nb = \n", "/x/b.toml:2: TOML syntax: "},
		{"[admin]\nlisten = \"127.0.0.1:1\"\nlisten = \"127.0.0.1:2\"\n", "/x/b.toml:3: "},
	} {
		_, err := Parse("/x/b.toml", []byte(c.doc))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "config.") {
			t.Errorf("%q:\n got %v\nwant %s", c.doc, err, c.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"acces_log", "access_log", 1}, {"lisen", "listen", 1}, {"", "abc", 3}, {"bogus", "hosts", 3}, {"paht", "path", 1}} {
		if got := editDistance(c.a, c.b); got != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}
