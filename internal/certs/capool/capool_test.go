package capool

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bartleby/internal/certs/testca"
	"bartleby/internal/config"
)

// ca is a test CA and one server certificate it signed.
type ca struct {
	pem  []byte // the CA certificate
	leaf *x509.Certificate
	key  []byte // a PEM private key block
}

func newCA(t testing.TB, name string) ca {
	t.Helper()
	c := testca.New(t, name+" CA")
	leaf := c.Issue(t, name)
	return ca{pem: c.PEM, leaf: leaf.Cert, key: leaf.KeyPEM}
}

// trustedBy says whether the pool verifies the CA's server certificate.
func (c ca) trustedBy(pool *x509.CertPool) bool {
	_, err := c.leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: c.leaf.DNSNames[0]})
	return err == nil
}

func load(t *testing.T, path string) *x509.CertPool {
	t.Helper()
	pool, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return pool
}

func TestFile(t *testing.T) {
	t.Parallel()
	a, b := newCA(t, "a.test"), newCA(t, "b.test")
	path := filepath.Join(t.TempDir(), "bundle.pem")
	testca.WriteFile(t, path, append(append([]byte("comment before\n"), a.pem...), b.pem...))
	pool := load(t, path)
	if !a.trustedBy(pool) || !b.trustedBy(pool) {
		t.Error("a bundle of two CAs does not trust both")
	}
	if newCA(t, "c.test").trustedBy(pool) {
		t.Error("the pool trusts a CA that is not in the file")
	}
}

// TestFileWithKey: a combined file (key then certificate, as some tools
// write them) loads its certificate and ignores the key.
func TestFileWithKey(t *testing.T) {
	t.Parallel()
	a := newCA(t, "a.test")
	path := filepath.Join(t.TempDir(), "combined.pem")
	testca.WriteFile(t, path, append(a.key, a.pem...))
	if !a.trustedBy(load(t, path)) {
		t.Error("the certificate after a key block is not trusted")
	}
	keyOnly := filepath.Join(t.TempDir(), "key.pem")
	testca.WriteFile(t, keyOnly, a.key)
	_, err := Load(keyOnly)
	wantErr(t, err, keyOnly, "no PEM certificate in the file")
}

// TestDirectoryAnyNames is the GnuTLS-in-Exim pitfall of the seeds: a
// directory of files with ordinary names must work.
func TestDirectoryAnyNames(t *testing.T) {
	t.Parallel()
	a, b := newCA(t, "a.test"), newCA(t, "b.test")
	dir := t.TempDir()
	testca.WriteFile(t, filepath.Join(dir, "Our Root CA.crt"), a.pem)
	testca.WriteFile(t, filepath.Join(dir, "b"), b.pem)
	testca.WriteFile(t, filepath.Join(dir, ".hidden.pem"), newCA(t, "h.test").pem)
	testca.WriteFile(t, filepath.Join(dir, "README"), []byte("these are our CAs\n"))
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	pool := load(t, dir)
	if !a.trustedBy(pool) || !b.trustedBy(pool) {
		t.Error("a directory of two CA files does not trust both")
	}
}

// TestHashedLinks: an OpenSSL CApath made by c_rehash, whose entries are
// links to files elsewhere.
func TestHashedLinks(t *testing.T) {
	t.Parallel()
	a := newCA(t, "a.test")
	store, dir := t.TempDir(), t.TempDir()
	testca.WriteFile(t, filepath.Join(store, "a.pem"), a.pem)
	if err := os.Symlink(filepath.Join(store, "a.pem"), filepath.Join(dir, "9d66eef0.0")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(store, "gone.pem"), filepath.Join(dir, "deadbeef.0")); err != nil {
		t.Fatal(err)
	}
	if !a.trustedBy(load(t, dir)) {
		t.Error("a CA behind a hashed link is not trusted")
	}
}

func TestEmptyDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := Load(dir)
	wantErr(t, err, dir, "no PEM certificate in any file")
}

func TestGarbage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "ca.pem")
	testca.WriteFile(t, path, []byte("\x00\x01 this is not PEM\n"))
	_, err := Load(path)
	wantErr(t, err, path, "no PEM certificate in the file")
	_, err = Load(dir)
	wantErr(t, err, dir, "no PEM certificate in any file")

	broken := filepath.Join(dir, "broken.pem")
	testca.WriteFile(t, broken, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage")}))
	_, err = Load(broken)
	wantErr(t, err, broken, "certificate 1")
	_, err = Load(dir)
	wantErr(t, err, dir, "broken.pem: certificate 1")
}

func TestMissingAndTooBig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.pem")
	_, err := Load(missing)
	wantErr(t, err, missing, "no such file")

	big := filepath.Join(dir, "big.pem")
	testca.WriteFile(t, big, make([]byte, config.MaxCAFile+1))
	_, err = Load(big)
	wantErr(t, err, big, "larger than")
}

// TestServes: a pool from a directory verifies a real handshake.
func TestServes(t *testing.T) {
	t.Parallel()
	a := newCA(t, "a.test")
	cert := tls.Certificate{Certificate: [][]byte{a.leaf.Raw}}
	block, _ := pem.Decode(a.key)
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	cert.PrivateKey = key
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	dir := t.TempDir()
	testca.WriteFile(t, filepath.Join(dir, "ca.crt"), a.pem)
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ln.Addr().String(),
		&tls.Config{RootCAs: load(t, dir), ServerName: "a.test"})
	if err != nil {
		t.Fatalf("handshake verified with the directory pool: %v", err)
	}
	c.Close()
}

func wantErr(t *testing.T, err error, path, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Load(%s): no error, want one containing %q", path, want)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
		t.Errorf("Load(%s): error %q, want the path and %q", path, err, want)
	}
}

// FuzzLoad feeds arbitrary bytes as a CA file: an error or a pool, never a
// panic, and never an empty pool without an error.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte{})
	a := newCA(f, "a.test")
	f.Add(append(a.key, a.pem...))
	path := filepath.Join(f.TempDir(), "ca.pem")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		pool, err := Load(path)
		if err == nil && pool.Equal(x509.NewCertPool()) {
			t.Fatal("an empty pool without an error")
		}
	})
}
