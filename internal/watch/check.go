package watch

import (
	"errors"
	"os"

	"bartleby/internal/certs/capool"
	"bartleby/internal/config"
	"bartleby/internal/watch/scenario"
)

// Check reports what is wrong with [watch] beyond its syntax: the feature
// files and the CA it names. It starts nothing.
func Check(cfg *config.Config, c *config.Checker) {
	w := cfg.Watch
	if w == nil {
		return
	}
	if w.Features != "" {
		if _, err := os.Stat(w.Features); err != nil {
			c.Errorf("watch.features", "cannot read %s: %v", w.Features, config.Reason(err))
		} else if _, err := scenario.Load(w.Features); err != nil {
			c.Errorf("watch.features", "%v", err)
		}
	}
	if _, err := os.Stat(w.CA); w.CA != "" && errors.Is(err, os.ErrNotExist) {
		// The quickstart's self-signed certificate is made on first
		// start, after this check.
		c.Warnf("watch.ca", "%s does not exist (yet); HTTPS steps fail until it does", w.CA)
	} else {
		capool.Check(c, "watch.ca", w.CA)
	}
}
