package fleet

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"bartleby/internal/config"
)

// Key is the fleet key: AES-256-GCM over values that must not be readable
// by whoever can read etcd (ACME private keys, maintenance secrets).
type Key struct {
	aead cipher.AEAD
}

// sealedMagic starts every sealed value, so that a value stored in clear
// is never mistaken for ciphertext and the format can change later.
const sealedMagic = "bfk1"

// LoadKey reads a fleet key file: 32 bytes as 64 hex digits or base64.
// A key readable by group or others is refused, as ssh does.
func LoadKey(path string) (*Key, error) {
	f, err := config.OpenFile(path, config.MaxSecretFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by group or others (mode %04o); chmod 600 it", path, st.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, config.MaxSecretFile))
	if err != nil {
		return nil, err
	}
	raw, err := decodeKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return NewKey(raw)
}

func decodeKey(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	return nil, errors.New("not 32 bytes in hex or base64 (make one with `head -c32 /dev/urandom | base64`)")
}

// NewKey makes a fleet key from 32 raw bytes.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != 32 {
		return nil, fmt.Errorf("fleet key: %d bytes, want 32", len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Key{aead: aead}, nil
}

// Seal encrypts plain with a fresh random nonce. name is authenticated
// with it (not stored): a sealed value moved to another key does not open.
func (k *Key) Seal(name string, plain []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce) // never fails (crypto/rand panics instead)
	out := append([]byte(sealedMagic), nonce...)
	return k.aead.Seal(out, nonce, plain, []byte(name))
}

// Open decrypts what Seal made for the same name.
func (k *Key) Open(name string, sealed []byte) ([]byte, error) {
	head := len(sealedMagic) + k.aead.NonceSize()
	if len(sealed) < head+k.aead.Overhead() || string(sealed[:len(sealedMagic)]) != sealedMagic {
		return nil, fmt.Errorf("%s: not sealed with a fleet key", name)
	}
	plain, err := k.aead.Open(nil, sealed[len(sealedMagic):head], sealed[head:], []byte(name))
	if err != nil {
		return nil, fmt.Errorf("%s: cannot decrypt (is key_file the same on every node?)", name)
	}
	return plain, nil
}

// overhead is how much longer a sealed value is than its plaintext.
func (k *Key) overhead() int { return len(sealedMagic) + k.aead.NonceSize() + k.aead.Overhead() }
