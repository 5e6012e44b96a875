package maint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"bartleby/internal/atomicfile"
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

// saveState replaces the file atomically, so a crash leaves either the old
// state or the new one.
func saveState(path string, modes map[string]*Mode) error {
	b, err := json.MarshalIndent(savedState{Sites: modes}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("maintenance state: %w", err)
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("maintenance state: %w", err)
	}
	return nil
}
