package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReadFileRefusesHostileFiles: a FIFO is refused without hanging the
// open, /dev/zero without reading it, and a file over its limit at once.
func TestReadFileRefusesHostileFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, MaxSecretFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := filepath.Join(dir, "ok")
	if err := os.WriteFile(ok, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{fifo, "not a regular file"},
		{"/dev/zero", "not a regular file"},
		{dir, "is a directory"},
		{big, "larger than 4096 bytes"},
		{filepath.Join(dir, "none"), "no such file"},
	} {
		_, err := ReadFile(c.path, MaxSecretFile)
		var pe *os.PathError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want a path error with %q", c.path, err, c.want)
		}
	}
	if b, err := ReadFile(ok, MaxSecretFile); err != nil || string(b) != "s3cret\n" {
		t.Errorf("regular file: %q, %v", b, err)
	}
}

// TestLoadRefusesConfigFIFO: the config file itself goes through the same
// helper.
func TestLoadRefusesConfigFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "b.toml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(fifo); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Load(FIFO) = %v", err)
	}
}
