package certs

import (
	"bartleby/internal/certs/capool"
	"bartleby/internal/config"
)

// Check reports what is wrong with [acme] beyond its syntax: the CA it
// names. It starts nothing.
func Check(cfg *config.Config, c *config.Checker) {
	if cfg.ACME != nil {
		capool.Check(c, "acme.ca_root", cfg.ACME.CARoot)
	}
}
