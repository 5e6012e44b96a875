package certs

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"bartleby/internal/config"
)

// fileCheckEvery bounds how often a handshake looks at the cert files.
const fileCheckEvery = 2 * time.Second

// keyPair is a certificate from PEM files, re-read when either file
// changes. A replacement that does not load (half written, key not
// matching) is logged and the old certificate stays in use.
type keyPair struct {
	certFile, keyFile string
	every             time.Duration
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]os.FileInfo // of the files last tried
	checked time.Time
}

func (m *Manager) fileGetter(certFile, keyFile string) (getCert, error) {
	if certFile == "" || keyFile == "" {
		return nil, fmt.Errorf("both cert and key files are needed")
	}
	kp := &keyPair{certFile: certFile, keyFile: keyFile, every: m.fileCheckEvery, log: m.log}
	stamp, err := kp.stat()
	if err != nil {
		return nil, err
	}
	cert, err := LoadKeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	kp.cert, kp.stamp, kp.checked = &cert, stamp, time.Now()
	return kp.get, nil
}

func (kp *keyPair) stat() ([2]os.FileInfo, error) {
	var stamp [2]os.FileInfo
	for i, f := range []string{kp.certFile, kp.keyFile} {
		st, err := os.Stat(f)
		if err != nil {
			return stamp, err
		}
		stamp[i] = st
	}
	return stamp, nil
}

func (kp *keyPair) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	kp.mu.Lock()
	defer kp.mu.Unlock()
	if now := time.Now(); now.Sub(kp.checked) >= kp.every {
		kp.checked = now
		kp.reload()
	}
	return kp.cert, nil
}

// reload loads the files again if they changed since last tried.
func (kp *keyPair) reload() {
	stamp, err := kp.stat()
	if err != nil {
		kp.log.Error("certificate files unreadable, keeping the old certificate", "event", "cert.error", "cert", kp.certFile, "err", err)
		return
	}
	if same(stamp[0], kp.stamp[0]) && same(stamp[1], kp.stamp[1]) {
		return
	}
	kp.stamp = stamp
	cert, err := LoadKeyPair(kp.certFile, kp.keyFile)
	if err != nil {
		kp.log.Error("new certificate files do not load, keeping the old certificate", "event", "cert.error", "cert", kp.certFile, "key", kp.keyFile, "err", err)
		return
	}
	kp.cert = &cert
	kp.log.Info("certificate reloaded", "event", "cert.reloaded", "cert", kp.certFile, "expires", cert.Leaf.NotAfter)
}

// same says whether a file looks unchanged: same inode, size and mtime.
func same(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// LoadKeyPair is tls.LoadX509KeyPair through config.ReadFile: files the
// config names are regular files of bounded size, never a FIFO that hangs
// a reload.
func LoadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := config.ReadFile(certFile, config.MaxCertFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := config.ReadFile(keyFile, config.MaxCertFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}
