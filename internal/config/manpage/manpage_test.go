package manpage

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"bartleby/internal/config"
	"bartleby/internal/testutil"
)

// groff formats page with groff's man macros, every warning on, and
// returns the text (no bold, no hyphenation marks) and the warnings.
func groff(t *testing.T, page string) (text, warnings string) {
	t.Helper()
	bin := testutil.Need(t, "groff")
	file := filepath.Join(t.TempDir(), "bartleby.toml.5")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	cmd := exec.Command(bin, "-man", "-Tutf8", "-ww", "-P-cbou", file)
	cmd.Stdout, cmd.Stderr = &out, &errs
	if err := cmd.Run(); err != nil {
		t.Fatalf("groff: %v: %s", err, errs.String())
	}
	return out.String(), errs.String()
}

// TestConfigPageFormatsCleanly: groff formats bartleby.toml(5) without a
// single warning, and the text shows every table and every key of
// KeyDocs, in order.
func TestConfigPageFormatsCleanly(t *testing.T) {
	tables := config.KeyDocs()
	text, warnings := groff(t, Config(tables))
	if warnings != "" {
		t.Fatalf("groff warns:\n%s", warnings)
	}
	at := 0
	find := func(what string) {
		i := strings.Index(text[at:], what)
		if i < 0 {
			t.Fatalf("%q is not in the page after byte %d:\n%s", what, at, text)
		}
		at += i + len(what)
	}
	find("GENERAL KEYS")
	for _, tab := range tables {
		find(tab.Header)
		for _, r := range tab.Rows {
			parts := strings.Split(r.Key, "`")
			for i := 1; i < len(parts); i += 2 {
				find(parts[i])
			}
		}
	}
	for _, s := range []string{"/etc/bartleby/bartleby.toml", "/usr/share/doc/bartleby/README.md.gz", "bartleby(8)"} {
		if !strings.Contains(text, s) {
			t.Errorf("the page does not mention %s", s)
		}
	}
}

// TestMarkdownToRoff: what a cell may hold comes out as roff that prints
// it, and nothing in a cell can become a roff request or escape.
func TestMarkdownToRoff(t *testing.T) {
	for _, c := range []struct{ md, want string }{
		{"`max_size`", `\fBmax_size\fR`},
		{"a **without use** b", `a \fBwithout use\fR b`},
		{"see [Group and umask](#group-and-umask).", `see Group and umask.`},
		{"`[acme] email`, [not a link", `\fB[acme] email\fR, [not a link`},
		{`back\slash and -o`, `back\eslash and \-o`},
		{"`-o`/`-g`", `\fB\-o\fR/\fB\-g\fR`},
		{"`FILE\\|DIR` or a\\|b", `\fBFILE|DIR\fR or a|b`},
		{"every ± jitter → …", `every \[u00B1] jitter \[u2192] \[u2026]`},
		{"unclosed `code", "unclosed `code"},
	} {
		if got := roff(c.md); got != c.want {
			t.Errorf("roff(%q) = %q, want %q", c.md, got, c.want)
		}
	}
	for _, c := range []struct{ md, want string }{
		{".start", `\&.start`},
		{"'quote", `\&'quote`},
		{"`.hidden`", `\fB.hidden\fR`},
	} {
		if got := line(c.md); got != c.want {
			t.Errorf("line(%q) = %q, want %q", c.md, got, c.want)
		}
	}
}

// TestHostileCellsPrintAsWritten: cells made of roff's special characters
// print as written, without a warning.
func TestHostileCellsPrintAsWritten(t *testing.T) {
	hostile := []config.KeyTable{{Header: "[x]", Rows: []config.KeyRow{
		{Key: "`k`", Default: `.so /etc/passwd`, Meaning: `'br \fB \\ \(em -`},
		{Key: "`j`", Meaning: `.TH evil`},
	}}}
	text, warnings := groff(t, Config(hostile))
	if warnings != "" {
		t.Fatalf("groff warns:\n%s", warnings)
	}
	for _, s := range []string{"Default: .so /etc/passwd", `'br \fB \\ \(em -`, ".TH evil"} {
		if !strings.Contains(text, s) {
			t.Errorf("%q is not printed as written:\n%s", s, text)
		}
	}
}
