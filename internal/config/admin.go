package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Admin is the admin web UI's listener and access rules.
type Admin struct {
	Listen string            `toml:"listen"`
	Allow  []string          `toml:"allow"` // CIDRs; loopback only when absent
	Users  map[string]string `toml:"users"` // name -> bcrypt hash; login required when set
	Cert   string            `toml:"cert"`  // self-signed when absent
	Key    string            `toml:"key"`
	// SessionTTL is how long a login lasts without use.
	SessionTTL Duration `toml:"session_ttl"`

	AllowNets []netip.Prefix `toml:"-"`
}

func (a *Admin) check(c *checker, cfg *Config) {
	if a.Listen == "" {
		a.Listen = "127.0.0.1:8025"
	}
	c.listen("admin.listen", a.Listen)
	if a.Allow == nil {
		a.Allow = []string{"127.0.0.0/8", "::1/128"}
	}
	a.AllowNets = c.prefixes("admin.allow", a.Allow)
	for name, hash := range a.Users {
		if !strings.HasPrefix(hash, "$2a$") && !strings.HasPrefix(hash, "$2b$") && !strings.HasPrefix(hash, "$2y$") {
			c.errorf("admin.users."+name, "must be a bcrypt hash (make one with `bartleby admin hash-password`)")
		}
	}
	c.duration("admin.session_ttl", a.SessionTTL)
	if a.SessionTTL.Set() && a.SessionTTL.err == nil && a.SessionTTL.Duration < time.Minute {
		c.errorf("admin.session_ttl", "must be at least 1m, got %q", a.SessionTTL.raw)
	}
	if len(a.Users) == 0 && !allLoopback(a.AllowNets) {
		c.warnf("admin.allow", "lets addresses beyond loopback use the admin UI without a login; set admin.users (see `bartleby admin hash-password`)")
	}
	a.Cert, a.Key = cfg.Path(a.Cert), cfg.Path(a.Key)
	c.certPair("admin", a.Cert, a.Key)
}

// certPair checks a cert/key file pair: both or neither, both readable.
func (c *checker) certPair(key, cert, priv string) {
	switch {
	case cert == "" && priv == "":
		return
	case cert == "" || priv == "":
		c.errorf(key, "give both cert and key, or neither")
		return
	}
	c.readable(fmt.Sprintf("%s.cert", key), cert)
	c.readable(fmt.Sprintf("%s.key", key), priv)
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
