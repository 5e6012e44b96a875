package maint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// stateName is the maintenance state's file in state_dir.
const stateName = "maintenance.json"

// maxState bounds the state file.
const maxState = 1 << 20

func stateFile(dir string) string { return filepath.Join(dir, stateName) }

// savedState is the file's content.
type savedState struct {
	Sites map[string]*Mode `json:"sites"`
}

// loadState reads the saved modes; a missing file means no site is in
// maintenance.
func loadState(path string) (map[string]*Mode, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]*Mode{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("maintenance state: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxState+1))
	if err != nil {
		return nil, fmt.Errorf("maintenance state: %w", err)
	}
	if len(b) > maxState {
		return nil, fmt.Errorf("maintenance state %s is larger than %d bytes", path, maxState)
	}
	var s savedState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("maintenance state %s is damaged (%v); fix or remove it", path, err)
	}
	out := map[string]*Mode{}
	for name, md := range s.Sites {
		if md != nil {
			md.Site = name
			out[name] = md
		}
	}
	return out, nil
}

// saveState replaces the file atomically: a temporary file is written and
// fsynced, renamed over the old one, and the directory is fsynced, so a
// crash leaves either the old state or the new one.
func saveState(path string, modes map[string]*Mode) error {
	b, err := json.MarshalIndent(savedState{Sites: modes}, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("maintenance state: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".maintenance-*.tmp")
	if err != nil {
		return fmt.Errorf("maintenance state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("maintenance state: writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("maintenance state: syncing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("maintenance state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("maintenance state: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("maintenance state: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("maintenance state: syncing %s: %w", dir, err)
	}
	return nil
}
