package daemon

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"bartleby/internal/config"
)

var update = flag.Bool("update", false, "rewrite testdata/bad/*.err from the current messages")

// TestBadConfigs loads every testdata/bad/*.toml as `bartleby check` does
// and compares the messages with the .err beside it, as chasquid's
// t-20-bad_configs does. {{dir}} stands for a directory holding the files
// the configs name: an empty directory, a FIFO, oversized files, an
// aliases file.
func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".toml")
		t.Run(name, func(t *testing.T) {
			dir := badFixtures(t)
			text, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, name+".toml")
			writeFile(t, path, []byte(strings.ReplaceAll(string(text), "{{dir}}", dir)))
			_, err = Load(path)
			var errs config.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("want config.Errors, got %T %v", err, err)
			}
			got := strings.ReplaceAll(errs.Error(), dir, "{{dir}}") + "\n"
			golden := strings.TrimSuffix(file, ".toml") + ".err"
			if *update {
				writeFile(t, golden, []byte(got))
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("messages:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func badFixtures(t *testing.T) string {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "big"), []byte(strings.Repeat("a", config.MaxSecretFile+1)))
	writeFile(t, filepath.Join(dir, "bigpage"), []byte(strings.Repeat("a", config.MaxPageFile+1)))
	writeFile(t, filepath.Join(dir, "aliases"), []byte("pipe: |/usr/bin/procmail\na: b\nb: a\n"))
	return dir
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
