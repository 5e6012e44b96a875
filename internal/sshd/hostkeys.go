package sshd

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"

	"bartleby/internal/config"

	"bartleby/internal/atomicfile"
)

// generated are the host keys made on first start when none are
// configured, as sshd-keygen does: modern algorithms only.
var generated = []struct {
	file string
	make func() (crypto.Signer, error)
}{
	{"ssh_host_ed25519_key", func() (crypto.Signer, error) { _, k, err := ed25519.GenerateKey(rand.Reader); return k, err }},
	{"ssh_host_ecdsa_key", func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }},
	{"ssh_host_rsa_key", func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 3072) }},
}

// loadHostKeys reads the configured key files, or the keys in dir, making
// those that are missing (mode 0600).
func loadHostKeys(files []string, dir string) ([]ssh.Signer, error) {
	if len(files) > 0 {
		var out []ssh.Signer
		for _, f := range files {
			s, err := readHostKey(f)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ssh host keys: %w", err)
	}
	var out []ssh.Signer
	for _, g := range generated {
		path := filepath.Join(dir, g.file)
		s, err := readHostKey(path)
		if errors.Is(err, os.ErrNotExist) {
			s, err = makeHostKey(path, g.make)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func readHostKey(path string) (ssh.Signer, error) {
	data, err := config.ReadFile(path, config.MaxCertFile)
	if err != nil {
		return nil, fmt.Errorf("ssh host key: %w", err)
	}
	s, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("ssh host key %s: %v (want an unencrypted OpenSSH or PEM private key)", path, err)
	}
	if t := s.PublicKey().Type(); t == "ssh-dss" {
		return nil, fmt.Errorf("ssh host key %s: DSA keys are not accepted", path)
	}
	return s, nil
}

func makeHostKey(path string, gen func() (crypto.Signer, error)) (ssh.Signer, error) {
	key, err := gen()
	if err != nil {
		return nil, fmt.Errorf("ssh host key: generating %s: %w", path, err)
	}
	block, err := ssh.MarshalPrivateKey(key, "bartleby host key")
	if err != nil {
		return nil, fmt.Errorf("ssh host key: %w", err)
	}
	if err := atomicfile.Write(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, fmt.Errorf("ssh host key: %w", err)
	}
	return ssh.NewSignerFromSigner(key)
}
