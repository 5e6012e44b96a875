package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestManWritesBothSections: `bartleby man DIR` writes the CLI's pages in
// DIR/man8 and bartleby.toml(5) in DIR/man5, where make-deb packs them.
func TestManWritesBothSections(t *testing.T) {
	dir := t.TempDir()
	root := rootCmd()
	root.SetArgs([]string{"man", dir})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	for page, want := range map[string]string{
		"man8/bartleby.8":        ".TH \"BARTLEBY\" \"8\"",
		"man8/bartleby-reload.8": ".SH NAME\nbartleby-reload - ",
		"man5/bartleby.toml.5":   ".TH BARTLEBY.TOML 5",
	} {
		data, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil || !strings.Contains(string(data), want) {
			t.Errorf("%s: %v, without %q", page, err, want)
		}
	}
}
