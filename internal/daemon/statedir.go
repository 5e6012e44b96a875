package daemon

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"bartleby/internal/config"
)

// checkStateDir makes sure bartleby will be able to keep its state: the
// directory exists and is writable, or can be created.
func checkStateDir(cfg *config.Config, c *config.Checker) {
	dir := cfg.StateDir
	st, err := os.Stat(dir)
	switch {
	case err == nil && !st.IsDir():
		c.Errorf("state_dir", "%s is not a directory", dir)
	case err == nil:
		if unix.Access(dir, unix.W_OK|unix.X_OK) != nil {
			c.Errorf("state_dir", "%s is not writable by this user (uid %d)", dir, os.Getuid())
		}
	case errors.Is(err, os.ErrNotExist):
		parent := filepath.Dir(dir)
		for {
			if _, err := os.Stat(parent); err == nil {
				break
			}
			parent = filepath.Dir(parent)
		}
		if unix.Access(parent, unix.W_OK|unix.X_OK) != nil {
			c.Errorf("state_dir", "%s does not exist and %s is not writable by this user (uid %d)", dir, parent, os.Getuid())
		}
	default:
		c.Errorf("state_dir", "%v", err)
	}
}
