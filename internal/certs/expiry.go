package certs

import (
	"crypto/tls"
	"crypto/x509"
	"maps"
	"strings"
	"time"
)

// leafFunc returns the certificate served now for a name, or nil when
// there is none yet (ACME still obtaining it).
type leafFunc func(name string) *x509.Certificate

// track records how to find the certificate of a source's names, for
// Expiry. A name configured twice keeps its last source.
func (m *Manager) track(s Source, get getCert) {
	leaf := func(name string) *x509.Certificate {
		c, err := get(&tls.ClientHelloInfo{ServerName: name})
		if err != nil || c == nil {
			return nil
		}
		return c.Leaf
	}
	if s.ACME {
		// certmagic's handshake code needs a connection: read its cache.
		leaf = m.acmeLeaf
	}
	names := s.Names
	if len(names) == 0 {
		names = []string{"default"}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.leaves == nil {
		m.leaves = map[string]leafFunc{}
	}
	for _, n := range names {
		m.leaves[strings.ToLower(n)] = leaf
	}
}

// acmeLeaf is the managed certificate of name that expires last.
func (m *Manager) acmeLeaf(name string) *x509.Certificate {
	a := m.acmeOrNil()
	if a == nil {
		return nil
	}
	var best *x509.Certificate
	for _, c := range a.cache.AllMatchingCertificates(name) {
		if c.Leaf != nil && (best == nil || c.Leaf.NotAfter.After(best.NotAfter)) {
			best = c.Leaf
		}
	}
	return best
}

// Expiry says when the certificate served for each configured name (or
// "default" for a listener without names) expires. Names without a
// certificate yet are left out rather than given a made-up date.
func (m *Manager) Expiry() map[string]time.Time {
	m.mu.Lock()
	leaves := maps.Clone(m.leaves)
	m.mu.Unlock()
	out := make(map[string]time.Time, len(leaves))
	for n, f := range leaves {
		if leaf := f(n); leaf != nil {
			out[n] = leaf.NotAfter
		}
	}
	return out
}
