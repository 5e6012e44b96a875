package aliases

import (
	"fmt"
	"os"
	"sync"
	"time"

	"bartleby/internal/config"
)

// File is an aliases file re-read when it changes (mtime or size), checked
// at most once a second.
type File struct {
	path string

	mu      sync.Mutex
	table   *Table
	mtime   time.Time
	size    int64
	checked time.Time
}

// Open reads path. An empty path gives an empty table.
func Open(path string) (*File, error) {
	f := &File{path: path, table: &Table{m: map[string][]string{}}}
	if path == "" {
		return f, nil
	}
	return f, f.reload()
}

// Table returns the current table, re-reading the file if it changed. A
// file that became unreadable keeps the last good table.
func (f *File) Table() (*Table, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.path == "" || time.Since(f.checked) < time.Second {
		return f.table, nil
	}
	f.checked = time.Now()
	st, err := os.Stat(f.path)
	if err != nil {
		return f.table, fmt.Errorf("aliases %s: %w (using the last good copy)", f.path, err)
	}
	if st.ModTime().Equal(f.mtime) && st.Size() == f.size {
		return f.table, nil
	}
	return f.table, f.reloadLocked()
}

// Reload re-reads the file now (newaliases) and returns how many aliases
// it holds. Entries with problems are left out and reported.
func (f *File) Reload() (int, error) {
	if f.path == "" {
		return 0, nil
	}
	err := f.reload()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.table.Len(), err
}

func (f *File) reload() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reloadLocked()
}

func (f *File) reloadLocked() error {
	fh, err := config.OpenFile(f.path, config.MaxAliasesFile)
	if err != nil {
		return fmt.Errorf("aliases %s: %w", f.path, err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("aliases %s: %w", f.path, err)
	}
	t, probs := Parse(fh)
	f.table, f.mtime, f.size, f.checked = t, st.ModTime(), st.Size(), time.Now()
	if len(probs) > 0 {
		return fmt.Errorf("aliases %s: %d problem(s), first: %s (the other entries are used)", f.path, len(probs), probs[0])
	}
	return nil
}
