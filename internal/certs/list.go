package certs

import (
	"crypto/tls"
	"crypto/x509"
	"slices"
	"strings"
	"time"
)

// Cert is one certificate in use, for the admin UI.
type Cert struct {
	Source   string   // "files", "ACME" or "self-signed"
	Names    []string // the names it is served for ("" first: the default)
	Subjects []string // the names it covers
	Issuer   string
	NotAfter time.Time
	Error    string // why it could not be had, when it could not
	// ACMEFailures are the last failed obtain or renewal of its names,
	// for those not obtained since.
	ACMEFailures []ACMEFailure
}

// served is a source handed to TLSConfig and how to get its certificate.
type served struct {
	src Source
	get getCert
}

// remember keeps a source for Certificates, once per kind and names.
func (m *Manager) remember(s Source, get getCert) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, old := range m.served {
		if kind(old.src) == kind(s) && slices.Equal(old.src.Names, s.Names) {
			return
		}
	}
	m.served = append(m.served, served{s, get})
}

// Certificates are the certificates of every source the parts asked for,
// soonest expiry first.
func (m *Manager) Certificates() []Cert {
	m.mu.Lock()
	list := slices.Clone(m.served)
	a := m.acme
	m.mu.Unlock()
	out := make([]Cert, 0, len(list))
	for _, s := range list {
		c := Cert{Source: kind(s.src), Names: s.src.Names}
		if s.src.ACME && a != nil {
			c.ACMEFailures = a.failuresFor(lower(s.src.Names))
		}
		name := ""
		if len(s.src.Names) > 0 {
			name = s.src.Names[0]
		}
		leaf, err := m.currentLeaf(s, name)
		switch {
		case err != nil:
			c.Error = err.Error()
		case leaf == nil:
			c.Error = "no certificate yet"
		default:
			c.Subjects, c.NotAfter = leaf.DNSNames, leaf.NotAfter
			for _, ip := range leaf.IPAddresses {
				c.Subjects = append(c.Subjects, ip.String())
			}
			c.Issuer = leaf.Issuer.CommonName
			if c.Issuer == "" {
				c.Issuer = strings.Join(leaf.Issuer.Organization, ", ")
			}
		}
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b Cert) int { return a.NotAfter.Compare(b.NotAfter) })
	return out
}

// currentLeaf is the certificate s serves for name now, nil when there
// is none yet (ACME still obtaining it).
func (m *Manager) currentLeaf(s served, name string) (*x509.Certificate, error) {
	if s.src.ACME {
		// certmagic's handshake code needs a connection (it logs the
		// remote address of a hello without a certificate): read its
		// cache instead.
		return m.acmeLeaf(name), nil
	}
	tc, err := s.get(&tls.ClientHelloInfo{ServerName: name})
	if err != nil {
		return nil, err
	}
	return leafOf(tc)
}

// leafOf is tc's leaf, parsed when tc does not hold it; nil for no
// certificate.
func leafOf(tc *tls.Certificate) (*x509.Certificate, error) {
	switch {
	case tc == nil:
		return nil, nil
	case tc.Leaf != nil || len(tc.Certificate) == 0:
		return tc.Leaf, nil
	}
	return x509.ParseCertificate(tc.Certificate[0])
}

func kind(s Source) string {
	switch {
	case s.CertFile != "":
		return "files"
	case s.ACME:
		return "ACME"
	}
	return "self-signed"
}
