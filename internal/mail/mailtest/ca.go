// Package mailtest holds what the mail tests share: an SMTP peer (smarthost
// or primary) with STARTTLS, implicit TLS and AUTH, and a test CA shaped
// for it.
package mailtest

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"

	"bartleby/internal/certs/testca"
)

// CA is a test certificate authority (internal/certs/testca) with the
// helpers the mail tests need.
type CA struct {
	*testca.CA
}

// NewCA makes a CA valid for a day.
func NewCA(t testing.TB) *CA { return &CA{testca.New(t, "bartleby mail test CA")} }

// Issue makes a server certificate for names (DNS names or IPs).
func (ca *CA) Issue(t testing.TB, names ...string) tls.Certificate {
	t.Helper()
	leaf := ca.CA.Issue(t, names...)
	cert, err := tls.X509KeyPair(leaf.PEM, leaf.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// WriteFile writes the CA certificate to dir/ca.crt and returns the path.
func (ca *CA) WriteFile(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "ca.crt")
	testca.WriteFile(t, p, ca.PEM)
	return p
}

// WriteDir writes the CA into a fresh directory next to an unrelated
// file, as /etc/ssl/certs looks, and returns the directory.
func (ca *CA) WriteDir(t testing.TB, dir string) string {
	t.Helper()
	d := filepath.Join(dir, "cadir")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	testca.WriteFile(t, filepath.Join(d, "smarthost-ca.pem"), ca.PEM)
	testca.WriteFile(t, filepath.Join(d, "README"), []byte("not a certificate\n"))
	return d
}
