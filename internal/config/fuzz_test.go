package config

import (
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary documents to the whole loader: it must return a
// config or located errors, never panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"state_dir = \"s\"\n[admin]\nlisten = \"127.0.0.1:1\"\n",
		"[[site]]\nhosts = [\"a\"]\n[[site.route]]\npath = \"/\"\n",
		"[admin]\nusers = { a = { b = 1 } }\nsession_ttl = \"5d\"\n",
		"x = [[1], {a = 2}]\n[a.b.c]\n[[a.b.d]]\n",
		"[web]\nhttp = \"[::1]:80\"\n",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, doc string) {
		cfg, err := Parse(filepath.Join(dir, "f.toml"), []byte(doc))
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
		if err != nil {
			if _, ok := err.(Errors); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
		}
	})
}
