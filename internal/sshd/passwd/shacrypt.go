package passwd

import (
	"crypto/sha512"
	"errors"
	"strconv"
	"strings"
)

// sha512Crypt is a parsed "$6$[rounds=N$]salt$hash" line: glibc's
// SHA-crypt as specified by Ulrich Drepper ("Unix crypt using SHA-256 and
// SHA-512", 2008).
type sha512Crypt struct {
	salt   string
	rounds int
	custom bool // rounds= was written, so it is written back
}

const (
	shaDefaultRounds = 5000
	shaMinRounds     = 1000
	// shaMaxRounds is lower than the spec's 999999999: the hashes come
	// from the config, but a typo should not stall every login for minutes.
	shaMaxRounds = 10_000_000
	shaMaxSalt   = 16
)

func parseSHA512Crypt(h string) (sha512Crypt, error) {
	rest, _ := strings.CutPrefix(h, "$6$")
	s := sha512Crypt{rounds: shaDefaultRounds}
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		num, after, found := strings.Cut(r, "$")
		n, err := strconv.Atoi(num)
		if !found || err != nil || n < 1 {
			return s, errors.New("bad sha512-crypt hash: rounds= must be a positive number")
		}
		if n > shaMaxRounds {
			return s, errors.New("bad sha512-crypt hash: more than 10000000 rounds")
		}
		s.rounds, s.custom, rest = max(n, shaMinRounds), true, after
	}
	salt, sum, found := strings.Cut(rest, "$")
	if !found || len(sum) != 86 || strings.ContainsAny(sum, "$:\n") {
		return s, errors.New("bad sha512-crypt hash: want $6$salt$ followed by 86 characters")
	}
	s.salt = salt[:min(len(salt), shaMaxSalt)]
	return s, nil
}

// crypt returns the full "$6$…" line for key with s's salt and rounds.
func (s sha512Crypt) crypt(key []byte) string {
	salt := []byte(s.salt)
	// Digest B: key, salt, key.
	b := sha512.New()
	b.Write(key)
	b.Write(salt)
	b.Write(key)
	sumB := b.Sum(nil)

	// Digest A: key, salt, then B for each byte of key, then a bit walk.
	a := sha512.New()
	a.Write(key)
	a.Write(salt)
	n := len(key)
	for ; n > 64; n -= 64 {
		a.Write(sumB)
	}
	a.Write(sumB[:n])
	for n = len(key); n > 0; n >>= 1 {
		if n&1 != 0 {
			a.Write(sumB)
		} else {
			a.Write(key)
		}
	}
	sumA := a.Sum(nil)

	// P and S sequences.
	dp := sha512.New()
	for range len(key) {
		dp.Write(key)
	}
	pSeq := repeatTo(dp.Sum(nil), len(key))
	ds := sha512.New()
	for range 16 + int(sumA[0]) {
		ds.Write(salt)
	}
	sSeq := repeatTo(ds.Sum(nil), len(salt))

	c := sha512.New()
	for i := range s.rounds {
		c.Reset()
		if i&1 != 0 {
			c.Write(pSeq)
		} else {
			c.Write(sumA)
		}
		if i%3 != 0 {
			c.Write(sSeq)
		}
		if i%7 != 0 {
			c.Write(pSeq)
		}
		if i&1 != 0 {
			c.Write(sumA)
		} else {
			c.Write(pSeq)
		}
		sumA = c.Sum(sumA[:0])
	}

	var out strings.Builder
	out.WriteString("$6$")
	if s.custom {
		out.WriteString("rounds=" + strconv.Itoa(s.rounds) + "$")
	}
	out.WriteString(s.salt)
	out.WriteByte('$')
	encodeSHA512(&out, sumA)
	return out.String()
}

// repeatTo is sum repeated to fill n bytes.
func repeatTo(sum []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, sum[:min(len(sum), n-len(out))]...)
	}
	return out
}

const cryptB64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// shaOrder is the spec's byte permutation for the final encoding.
var shaOrder = [21][3]int{
	{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4}, {47, 5, 26}, {6, 27, 48},
	{28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13},
	{56, 14, 35}, {15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19}, {62, 20, 41},
}

func encodeSHA512(out *strings.Builder, sum []byte) {
	put := func(w uint32, n int) {
		for range n {
			out.WriteByte(cryptB64[w&0x3f])
			w >>= 6
		}
	}
	for _, o := range shaOrder {
		put(uint32(sum[o[0]])<<16|uint32(sum[o[1]])<<8|uint32(sum[o[2]]), 4)
	}
	put(uint32(sum[63]), 2)
}
