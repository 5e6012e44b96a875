package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pelletier/go-toml/v2"
)

// stateDir reads state_dir from the config without checking the rest, so
// that `reload` and `status` reach the daemon while the file is broken:
// they are how an operator sees why. Top-level keys precede every table
// in TOML, so only the lines before the first table header are decoded.
func stateDir(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("config %s: %w", path, err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return "", fmt.Errorf("cannot read config: %w", err)
	}
	var top struct {
		StateDir string `toml:"state_dir"`
	}
	if err := toml.Unmarshal(beforeFirstTable(data), &top); err != nil {
		return "", fmt.Errorf("%s: cannot find state_dir: %w", abs, err)
	}
	switch {
	case top.StateDir == "":
		return "/var/lib/bartleby", nil
	case filepath.IsAbs(top.StateDir):
		return top.StateDir, nil
	}
	return filepath.Join(filepath.Dir(abs), top.StateDir), nil
}

func beforeFirstTable(data []byte) []byte {
	for off := 0; off < len(data); {
		line := data[off:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i+1]
		}
		if bytes.HasPrefix(bytes.TrimLeft(line, " \t"), []byte("[")) {
			return data[:off]
		}
		off += len(line)
	}
	return data
}
