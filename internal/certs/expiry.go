package certs

import (
	"crypto/x509"
	"slices"
	"strings"
	"time"
)

// Expiry says when the certificate served for each configured name (or
// "default" for a listener without names) expires, for the metrics. Names
// without a certificate yet are left out rather than given a made-up
// date. A name configured twice keeps its last source.
func (m *Manager) Expiry() map[string]time.Time {
	m.mu.Lock()
	list := slices.Clone(m.served)
	m.mu.Unlock()
	out := map[string]time.Time{}
	for _, s := range list {
		names := s.src.Names
		if len(names) == 0 {
			names = []string{"default"}
		}
		for _, n := range names {
			if leaf := m.leafFor(s, n); leaf != nil {
				out[strings.ToLower(n)] = leaf.NotAfter
			}
		}
	}
	return out
}

// leafFor is the certificate s serves for name now, nil when there is none
// yet (ACME still obtaining it). Each ACME name has its own certificate.
func (m *Manager) leafFor(s served, name string) *x509.Certificate {
	leaf, _ := m.currentLeaf(s, name)
	return leaf
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
