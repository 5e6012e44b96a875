package main

import (
	"bytes"
	"fmt"
	"path/filepath"

	"github.com/pelletier/go-toml/v2"

	"bartleby/internal/config"
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
	data, err := config.ReadFile(abs, config.MaxConfigFile)
	if err != nil {
		return "", fmt.Errorf("%s: cannot read config: %w", path, config.Reason(err))
	}
	var top struct {
		StateDir string `toml:"state_dir"`
	}
	if err := toml.Unmarshal(beforeFirstTable(data), &top); err != nil {
		return "", fmt.Errorf("%s: cannot find state_dir: %w", abs, err)
	}
	switch {
	case top.StateDir == "":
		return config.Defaults().StateDir, nil
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
