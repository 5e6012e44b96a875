package aliases

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const sample = `# /etc/aliases
postmaster: root
root: ops@example.net, root
MAILER-DAEMON: postmaster
team: alice,
	bob@example.net,
# a comment inside an entry
  carol
list: team, dave
`

func TestExpand(t *testing.T) {
	tab, probs := Parse(strings.NewReader(sample))
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	for _, tc := range []struct{ in, want string }{
		{"postmaster", "ops@example.net root@example.org"},
		{"ROOT@example.org", "ops@example.net root@example.org"},
		{"list@Example.ORG", "alice@example.org bob@example.net carol@example.org dave@example.org"},
		{"root@elsewhere.net", "root@elsewhere.net"},
		{"nobody", "nobody@example.org"},
	} {
		got, err := tab.Expand(tc.in, "example.org")
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("Expand(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestProblems(t *testing.T) {
	in := "pipe: |/usr/bin/procmail\nfile: /var/mail/x\ninc: :include:/etc/list\nbad line\n  still bad\nempty:\ndup: a\ndup: b\nok: x@example.net,\n  orphan-free\n"
	tab, probs := Parse(strings.NewReader(in))
	want := []string{
		`line 1: "|/usr/bin/procmail": delivery to a command is not supported`,
		`line 2: "/var/mail/x": delivery to a file is not supported`,
		`line 3: ":include:/etc/list": :include: is not supported`,
		`line 4: "bad line still bad": expected "name: address, …"`,
		`line 6: alias "empty" has no target`,
		`line 8: alias "dup" is already defined on line 7`,
	}
	if len(probs) != len(want) {
		t.Fatalf("problems: %v", probs)
	}
	for i, p := range probs {
		if !strings.HasPrefix(p.String(), want[i]) {
			t.Errorf("problem %d = %q, want %q…", i, p, want[i])
		}
	}
	if got, _ := tab.Expand("ok", "example.org"); !reflect.DeepEqual(got, []string{"x@example.net", "orphan-free@example.org"}) {
		t.Errorf("good entries are kept: %v", got)
	}
}

func TestLoop(t *testing.T) {
	tab, _ := Parse(strings.NewReader("a: b\nb: c\nc: a\n"))
	if _, err := tab.Expand("a", "example.org"); err == nil || !strings.Contains(err.Error(), "alias loop: a -> b -> c -> a") {
		t.Fatalf("loop: %v", err)
	}
	if probs := tab.Check("example.org"); len(probs) != 3 {
		t.Fatalf("Check: %v", probs)
	}
}

func TestFileReload(t *testing.T) {
	p := filepath.Join(t.TempDir(), "aliases")
	os.WriteFile(p, []byte("root: a@example.net\n"), 0o644)
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, []byte("root: b@example.net, c@example.net\n"), 0o644)
	f.mu.Lock()
	f.checked = time.Time{} // as if a second had passed
	f.mu.Unlock()
	tab, err := f.Table()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := tab.Expand("root", "example.org"); len(got) != 2 || got[0] != "b@example.net" {
		t.Fatalf("not reloaded: %v", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add("a: b\nb: a\n")
	f.Add("x: \"|cmd\", y\n  , z\n#c\n")
	f.Fuzz(func(t *testing.T, s string) {
		tab, _ := Parse(strings.NewReader(s))
		for name := range tab.m {
			got, err := tab.Expand(name, "example.org")
			if err == nil && len(got) > MaxExpansion {
				t.Fatalf("expansion of %q too large", name)
			}
			for _, a := range got {
				if CheckAddress(a) != nil {
					t.Fatalf("expansion of %q gave invalid %q", name, a)
				}
			}
		}
	})
}
