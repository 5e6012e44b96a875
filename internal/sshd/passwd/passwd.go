// Package passwd checks passwords against the hash formats an operator is
// likely to paste into the config: bcrypt (what `bartleby sftp
// hash-password` makes), argon2id in PHC format, and the yescrypt ($y$) and
// sha512-crypt ($6$) lines of /etc/shadow, so existing unix accounts move
// over unchanged.
package passwd

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// MaxPassword bounds the password length checked: hashing cost grows with
// it (sha512-crypt is quadratic-ish in length), and no one types more.
const MaxPassword = 1024

// Hash makes a bcrypt hash of password for the config file.
func Hash(password string) (string, error) {
	if password == "" {
		return "", errors.New("empty passwords are refused")
	}
	if len(password) > 72 {
		return "", errors.New("bcrypt uses at most 72 bytes of a password; choose a shorter one")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), 12)
	return string(h), err
}

// Check reports whether hash is in a format Verify understands, with a hint
// when it is not.
func Check(hash string) error {
	switch {
	case isBcrypt(hash):
		_, err := bcrypt.Cost([]byte(hash))
		if err != nil {
			return fmt.Errorf("bad bcrypt hash: %v", err)
		}
		return nil
	case strings.HasPrefix(hash, "$argon2id$"):
		_, err := parseArgon2id(hash)
		return err
	case strings.HasPrefix(hash, "$6$"):
		_, err := parseSHA512Crypt(hash)
		return err
	case strings.HasPrefix(hash, "$y$"):
		return checkYescrypt(hash)
	}
	return errors.New("not a supported password hash: want bcrypt ($2y$…), argon2id ($argon2id$…), yescrypt ($y$…) or sha512-crypt ($6$…); make one with `bartleby sftp hash-password`")
}

// Verify reports whether password matches hash. An empty password never
// matches.
func Verify(hash, password string) bool {
	if password == "" || len(password) > MaxPassword {
		return false
	}
	switch {
	case isBcrypt(hash):
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	case strings.HasPrefix(hash, "$argon2id$"):
		a, err := parseArgon2id(hash)
		return err == nil && subtle.ConstantTimeCompare(a.key([]byte(password)), a.sum) == 1
	case strings.HasPrefix(hash, "$6$"):
		return verifySHA512Crypt(hash, password)
	case strings.HasPrefix(hash, "$y$"):
		return verifyYescrypt(hash, password)
	}
	return false
}

func isBcrypt(h string) bool {
	return strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$") || strings.HasPrefix(h, "$2y$")
}

// Params is the part of a hash that sets how long checking it takes (its
// kind and cost, without salt and sum): hashes with the same Params take
// the same time to check.
func Params(hash string) string {
	parts := strings.SplitN(hash, "$", 5)
	switch {
	case isBcrypt(hash) && len(parts) > 2:
		return strings.Join(parts[:3], "$") // $2y$12
	case strings.HasPrefix(hash, "$argon2id$") && len(parts) > 3:
		return strings.Join(parts[:4], "$") // $argon2id$v=19$m=…,t=…,p=…
	case strings.HasPrefix(hash, "$6$rounds=") && len(parts) > 2:
		return strings.Join(parts[:3], "$") // $6$rounds=N
	case strings.HasPrefix(hash, "$6$"):
		return "$6"
	case strings.HasPrefix(hash, "$y$") && len(parts) > 2:
		return strings.Join(parts[:3], "$") // $y$j9T: the flags, N and r
	}
	return ""
}
