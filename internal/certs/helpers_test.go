package certs

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"bartleby/internal/certs/capool"
	"bartleby/internal/config"
)

// newManager makes a Manager with its state in a fresh temporary directory.
func newManager(t *testing.T, stateDir string) *Manager {
	t.Helper()
	if stateDir == "" {
		stateDir = t.TempDir()
	}
	m, err := New(&config.Config{StateDir: stateDir}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// serve accepts TLS connections with cfg on loopback until the test ends,
// completing each handshake and closing.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.(*tls.Conn).Handshake()
			}()
		}
	}()
	return ln.Addr().String()
}

// handshake connects with the client config and returns the leaf served.
func handshake(addr string, cfg *tls.Config) (*x509.Certificate, error) {
	c, err := tls.DialWithDialer(&net.Dialer{}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0], nil
}

// peek returns the leaf served for a name without verifying it.
func peek(t *testing.T, addr, name string) *x509.Certificate {
	t.Helper()
	leaf, err := handshake(addr, &tls.Config{ServerName: name, InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("handshake for %q: %v", name, err)
	}
	return leaf
}

// pool trusts the certificates of one PEM file.
func pool(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	p, err := capool.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func selfSignedFile(stateDir, name string) string {
	return filepath.Join(stateDir, "certs", "self-signed", name+".crt")
}

// writePair writes a fresh self-signed certificate for names and its key
// to dir/base.crt and dir/base.key, through renames as an operator's tool
// would, and returns the paths and the certificate's serial.
func writePair(t *testing.T, dir, base string, names ...string) (certFile, keyFile, serial string) {
	t.Helper()
	s := &selfSigned{
		names:    names,
		certFile: filepath.Join(dir, base+".crt"),
		keyFile:  filepath.Join(dir, base+".key"),
		log:      testLogger(t),
	}
	cert, err := s.generate(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return s.certFile, s.keyFile, cert.Leaf.SerialNumber.String()
}
