package certs

import (
	"crypto/tls"

	"bartleby/internal/certs/capool"
)

// ClientConfig is the config a client part (the mail smarthost, proxy
// upstreams) verifies serverName with: against the system roots when
// caPath is "", else against the CA file or directory at caPath.
func ClientConfig(caPath, serverName string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if caPath != "" {
		pool, err := capool.Load(caPath)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
