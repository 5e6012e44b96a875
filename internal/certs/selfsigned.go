package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"bartleby/internal/atomicfile"
)

// A self-signed certificate lives selfSignedLife and is made anew when less
// than selfSignedMargin is left.
const (
	selfSignedLife   = 365 * 24 * time.Hour
	selfSignedMargin = 30 * 24 * time.Hour
)

// selfSignedIPs are always in the certificate, for the quickstart.
var selfSignedIPs = []string{"127.0.0.1", "::1"}

// selfSigned is one certificate kept in state_dir/certs/self-signed/, named
// after the first host name, so that browsers that were told to trust it
// keep trusting it across restarts.
type selfSigned struct {
	names    []string // DNS names in the certificate, sorted
	ips      []string // IP addresses in it, sorted
	certFile string
	keyFile  string
	log      *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	renewAt time.Time // of cert
}

func (m *Manager) selfSignedGetter(names []string) (getCert, error) {
	dnsNames, ips := selfSignedNames(names)
	dir := filepath.Join(m.dir, "self-signed")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	base := "localhost"
	if len(names) > 0 {
		base = fileName(names[0])
	}
	s := &selfSigned{
		names:    dnsNames,
		ips:      ips,
		certFile: filepath.Join(dir, base+".crt"),
		keyFile:  filepath.Join(dir, base+".key"),
		log:      m.log,
	}
	if _, err := s.current(time.Now()); err != nil {
		return nil, err
	}
	return func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return s.current(time.Now()) }, nil
}

// selfSignedNames splits the names plus localhost and the loopback
// addresses into DNS names (lower-case) and IP addresses, each sorted and
// unique.
func selfSignedNames(names []string) (dns, ips []string) {
	dns = []string{"localhost"}
	ips = slices.Clone(selfSignedIPs)
	for _, n := range names {
		if ip, err := netip.ParseAddr(n); err == nil {
			ips = append(ips, ip.Unmap().String())
		} else {
			dns = append(dns, strings.ToLower(strings.TrimSuffix(n, ".")))
		}
	}
	return sortedSet(dns), sortedSet(ips)
}

func sortedSet(list []string) []string {
	slices.Sort(list)
	return slices.Compact(list)
}

// fileName makes a host name safe as a file name: "*.example.org" becomes
// "_wildcard.example.org".
func fileName(host string) string {
	host = strings.ToLower(strings.Replace(host, "*", "_wildcard", 1))
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, host)
}

// current returns the certificate in memory, else the one on disk if it
// still fits, else a new one.
func (s *selfSigned) current(now time.Time) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cert != nil && now.Before(s.renewAt) {
		return s.cert, nil
	}
	if cert, err := tls.LoadX509KeyPair(s.certFile, s.keyFile); err == nil && s.fits(cert.Leaf, now) {
		s.keep(&cert)
		return s.cert, nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Error("self-signed certificate unreadable, making a new one", "event", "cert.error", "file", s.certFile, "err", err)
	}
	cert, err := s.generate(now)
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	s.log.Info("self-signed certificate made", "event", "cert.made", "file", s.certFile, "names", s.names, "expires", cert.Leaf.NotAfter)
	s.keep(cert)
	return cert, nil
}

func (s *selfSigned) keep(cert *tls.Certificate) {
	s.cert, s.renewAt = cert, cert.Leaf.NotAfter.Add(-selfSignedMargin)
}

// fits says whether a certificate covers exactly our names and addresses
// and is not near its end.
func (s *selfSigned) fits(leaf *x509.Certificate, now time.Time) bool {
	if leaf == nil || now.Add(selfSignedMargin).After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return false
	}
	ips := make([]string, len(leaf.IPAddresses))
	for i, ip := range leaf.IPAddresses {
		ips[i] = ip.String()
	}
	return slices.Equal(sortedSet(slices.Clone(leaf.DNSNames)), s.names) && slices.Equal(sortedSet(ips), s.ips)
}

// generate makes an ECDSA P-256 certificate and writes it, key first, each
// file through a rename so a crash never leaves half a pair.
func (s *selfSigned) generate(now time.Time) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: s.names[0], Organization: []string{"bartleby self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedLife),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              s.names,
	}
	for _, ip := range s.ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := atomicfile.Write(s.keyFile, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(s.certFile, certPEM, 0o644); err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return &cert, nil
}
