// Package certs gives every part its TLS configuration: certificates from
// files, from an ACME CA through certmagic, or self-signed for the
// quickstart, and the CA pools clients verify peers with.
package certs

import (
	"crypto/tls"
	"log/slog"
	"net/http"

	"bartleby/internal/config"
)

// Manager hands out server TLS configs; one per daemon, shared by the parts.
type Manager struct {
	cfg *config.Config
	log *slog.Logger
}

// Source says where the certificate for a set of names comes from.
type Source struct {
	Names    []string // host names served (SNI); the first is the default
	CertFile string   // PEM files, re-read when they change
	KeyFile  string
	ACME     bool // obtain and renew through [acme]
}

// New prepares certificate handling with its storage under state_dir.
func New(cfg *config.Config, log *slog.Logger) (*Manager, error) {
	return &Manager{cfg: cfg, log: log}, nil
}

// TLSConfig returns a server config that picks among sources by SNI.
// A source with neither files nor ACME gets a self-signed certificate.
func (m *Manager) TLSConfig(sources ...Source) (*tls.Config, error) {
	return nil, errNotYet
}

// HTTPChallenge answers ACME HTTP-01 challenges and passes other requests
// to next.
func (m *Manager) HTTPChallenge(next http.Handler) http.Handler { return next }

// Close stops renewals.
func (m *Manager) Close() {}
