// Package fleet joins bartleby hosts through etcd: a client with mutual TLS,
// membership under a lease, an encrypted certmagic storage, and the shared
// state other packages watch (maintenance switch, SSH blocklist). Without a
// [fleet] section none of it runs.
package fleet

import (
	"crypto/tls"
	"net/url"
	"time"

	"bartleby/internal/certs"
	"bartleby/internal/certs/capool"
	"bartleby/internal/config"
)

// Settings is a compiled [fleet] section, ready to connect with.
type Settings struct {
	Endpoints   []string // host:port of each member, in config order
	TLS         *tls.Config
	Key         *Key // the fleet key
	Node        string
	Prefix      string
	DialTimeout time.Duration
}

// Compile loads what the [fleet] section of cfg names (client certificate,
// CA, fleet key) into Settings, reporting problems to c. Config has checked
// the syntax and filled the defaults. It returns nil without [fleet] or
// when c got an error.
func Compile(cfg *config.Config, c *config.Checker) *Settings {
	f := cfg.Fleet
	if f == nil {
		return nil
	}
	s := &Settings{Node: f.Node, Prefix: f.Prefix, DialTimeout: f.DialTimeout.Duration}
	for _, raw := range f.Etcd {
		if u, err := url.Parse(raw); err == nil {
			s.Endpoints = append(s.Endpoints, u.Host)
		}
	}
	if f.Cert != "" && f.Key != "" {
		pair, err := certs.LoadKeyPair(f.Cert, f.Key)
		if err != nil {
			c.Errorf("fleet.cert", "%v", err)
		}
		s.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	if f.CA != "" {
		pool, err := capool.Load(f.CA)
		if err != nil {
			c.Errorf("fleet.ca", "%v", err)
		} else if s.TLS != nil {
			s.TLS.RootCAs = pool
		}
	}
	if f.KeyFile != "" {
		key, err := LoadKey(f.KeyFile)
		if err != nil {
			c.Errorf("fleet.key_file", "%v", err)
		}
		s.Key = key
	}
	if c.Err() != nil {
		return nil
	}
	return s
}

// Check reports what is wrong with [fleet] beyond its syntax: the files it
// names. It connects to nothing.
func Check(cfg *config.Config, c *config.Checker) { Compile(cfg, c) }
