package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Fleet joins this host to others through etcd: shared ACME certificates,
// maintenance switch, SSH blocklist and membership. Plain data: the fleet
// package loads the files it names and connects (fleet.Compile).
type Fleet struct {
	// Etcd lists the client URLs of the etcd members, like
	// "https://10.0.0.1:2379".
	Etcd []string `toml:"etcd"`
	// Cert and Key are the client certificate and key bartleby presents
	// to etcd (mTLS); CA is a PEM file or a directory of them trusted for
	// etcd's server certificates.
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
	CA   string `toml:"ca"`
	// KeyFile holds the fleet key: 32 random bytes, hex or base64,
	// encrypting ACME private keys and the shared maintenance secrets in
	// etcd. The same on every node.
	KeyFile string `toml:"key_file"`
	// Node names this host in the fleet; the hostname by default.
	Node string `toml:"node"`
	// Prefix is where bartleby's keys live in etcd.
	Prefix string `toml:"prefix"`
	// DialTimeout bounds connecting to etcd and each request.
	DialTimeout Duration `toml:"dial_timeout"`
}

// MaxFleetMembers bounds fleet.etcd.
const MaxFleetMembers = 16

func (f *Fleet) check(c *Checker) {
	switch {
	case len(f.Etcd) == 0:
		c.Errorf("fleet.etcd", "needs the client URL of at least one etcd member (like \"https://10.0.0.1:2379\")")
	case len(f.Etcd) > MaxFleetMembers:
		c.Errorf("fleet.etcd", "more than %d members", MaxFleetMembers)
	}
	for i, raw := range f.Etcd[:min(len(f.Etcd), MaxFleetMembers)] {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") || u.User != nil {
			c.Errorf(fmt.Sprintf("fleet.etcd[%d]", i+1), "%q is not an https://host:port URL (etcd without TLS is not supported)", raw)
		}
	}
	if f.Cert == "" || f.Key == "" {
		c.Errorf("fleet", "cert and key are required: the client certificate etcd checks (--client-cert-auth)")
	}
	if f.CA == "" {
		c.Errorf("fleet.ca", "is required: the CA (file or directory) that signed etcd's certificates")
	}
	if f.KeyFile == "" {
		c.Errorf("fleet.key_file", "is required: the fleet key encrypting private keys in etcd (make one with `head -c32 /dev/urandom | base64 > fleet.key`)")
	}
	f.Cert, f.Key, f.CA, f.KeyFile = c.Path(f.Cert), c.Path(f.Key), c.Path(f.CA), c.Path(f.KeyFile)
	if !validNode(f.Node) {
		c.Errorf("fleet.node", "%q: use letters, digits, '.', '-' and '_' (at most 63)", f.Node)
	}
	if !strings.HasPrefix(f.Prefix, "/") || !strings.HasSuffix(f.Prefix, "/") || len(f.Prefix) > 128 {
		c.Errorf("fleet.prefix", "%q must start and end with '/' (like %q)", f.Prefix, Defaults().Fleet.Prefix)
	}
	if c.duration("fleet.dial_timeout", f.DialTimeout) && (f.DialTimeout.Duration < 100*time.Millisecond || f.DialTimeout.Duration > time.Minute) {
		c.Errorf("fleet.dial_timeout", "%q is out of range (100ms to 1m)", f.DialTimeout.raw)
	}
}

func validNode(n string) bool {
	if n == "" || len(n) > 63 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
