package config

import (
	"net/netip"
	"strings"
	"time"
)

// Admin is the admin web UI's listener and access rules.
type Admin struct {
	Listen string            `toml:"listen"`
	Allow  []string          `toml:"allow"` // CIDRs
	Users  map[string]string `toml:"users"` // name -> bcrypt hash; login required when set
	Cert   string            `toml:"cert"`  // self-signed when absent
	Key    string            `toml:"key"`
	// SessionTTL is how long a login lasts without use.
	SessionTTL Duration `toml:"session_ttl"`
}

func (a *Admin) check(c *Checker) {
	c.listen("admin.listen", a.Listen)
	c.prefixes("admin.allow", a.Allow)
	for name, hash := range a.Users {
		if !strings.HasPrefix(hash, "$2a$") && !strings.HasPrefix(hash, "$2b$") && !strings.HasPrefix(hash, "$2y$") {
			c.Errorf("admin.users."+name, "must be a bcrypt hash (make one with `bartleby admin hash-password`)")
		}
	}
	if c.duration("admin.session_ttl", a.SessionTTL) && a.SessionTTL.Duration < time.Minute {
		c.Errorf("admin.session_ttl", "must be at least 1m, got %q", a.SessionTTL.raw)
	}
	if len(a.Users) == 0 && !allLoopback(Prefixes(a.Allow)) {
		c.Warnf("admin.allow", "lets addresses beyond loopback use the admin UI without a login; set admin.users (see `bartleby admin hash-password`)")
	}
	a.Cert, a.Key = c.Path(a.Cert), c.Path(a.Key)
	c.certPair("admin", a.Cert, a.Key)
}

// allLoopback reports whether the allowlist lets in this host only.
func allLoopback(nets []netip.Prefix) bool {
	for _, n := range nets {
		minBits := 128
		if n.Addr().Is4() {
			minBits = 8
		}
		if !n.Addr().IsLoopback() || n.Bits() < minBits {
			return false
		}
	}
	return true
}
