package admin

import "bartleby/internal/config"

// Check reports what is wrong with [admin] beyond its syntax: the
// certificate files it names. It starts nothing.
func Check(cfg *config.Config, c *config.Checker) {
	if a := cfg.Admin; a != nil {
		c.CertFiles("admin", a.Cert, a.Key)
	}
}
