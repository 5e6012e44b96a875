package passwd

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-crypt/crypt/algorithm/shacrypt"
	"github.com/go-crypt/x/yescrypt"
)

// The crypt(3) formats of /etc/shadow: sha512-crypt ($6$, glibc's SHA-crypt
// by Drepper) through go-crypt/crypt, and yescrypt ($y$, Debian 12's
// default) through go-crypt/x/yescrypt, Solar Designer's Go port.

// shaMaxRounds is lower than the spec's 999999999: the hashes come from
// the config, but a typo should not stall every login for minutes.
const shaMaxRounds = 10_000_000

// yescryptMaxMemory bounds what one yescrypt check may allocate (128·r·N
// bytes); Debian's default, j9T, takes 16 MiB.
const yescryptMaxMemory = 64 << 20

func parseSHA512Crypt(h string) (*shacrypt.Digest, error) {
	if r, ok := strings.CutPrefix(h, "$6$rounds="); ok {
		num, _, _ := strings.Cut(r, "$")
		if n, err := strconv.Atoi(num); err == nil && n > shaMaxRounds {
			return nil, errors.New("bad sha512-crypt hash: more than 10000000 rounds")
		}
	}
	d, err := shacrypt.DecodeVariant(shacrypt.VariantSHA512)(h)
	if err != nil {
		return nil, fmt.Errorf("bad sha512-crypt hash: %w", err)
	}
	return d.(*shacrypt.Digest), nil
}

func verifySHA512Crypt(h, password string) bool {
	d, err := parseSHA512Crypt(h)
	return err == nil && d.Match(password)
}

// checkYescrypt accepts the $y$ settings libxcrypt writes (what
// go-crypt/x/yescrypt supports) within the memory bound.
func checkYescrypt(h string) error {
	if len(h) < 8 || !strings.HasPrefix(h, "$y$j") || h[6] != '$' || strings.Count(h, "$") != 4 {
		return errors.New("bad yescrypt hash: want $y$j..$salt$hash as written by mkpasswd or passwd")
	}
	const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	nLog2, r := strings.IndexByte(itoa64, h[4])+1, strings.IndexByte(itoa64, h[5])+1
	if nLog2 < 10 || nLog2 > 18 || r < 1 || r > 32 {
		return errors.New("bad yescrypt hash: cost parameters out of the supported range")
	}
	if 128*r<<nLog2 > yescryptMaxMemory {
		return fmt.Errorf("yescrypt hash needs %d MiB per check, more than the %d MiB allowed", 128*r<<nLog2>>20, yescryptMaxMemory>>20)
	}
	return nil
}

func verifyYescrypt(h, password string) bool {
	if checkYescrypt(h) != nil {
		return false
	}
	out, err := yescrypt.Hash([]byte(password), []byte(h))
	return err == nil && subtle.ConstantTimeCompare(out, []byte(h)) == 1
}
