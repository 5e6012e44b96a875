package passwd

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argon2idHash is a parsed PHC string:
// $argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash> (unpadded base64).
type argon2idHash struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	salt    []byte
	sum     []byte
}

// Limits on the parameters: a hash from the config must not let one login
// take gigabytes of memory or minutes of CPU.
const (
	argonMaxMemory  = 1 << 20 // 1 GiB in KiB
	argonMaxTime    = 20
	argonMaxThreads = 16
)

func parseArgon2id(h string) (argon2idHash, error) {
	var a argon2idHash
	parts := strings.Split(h, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return a, errors.New("bad argon2id hash: want $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if parts[2] != "v=19" {
		return a, fmt.Errorf("bad argon2id hash: version %q, want v=19", parts[2])
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &a.memory, &a.time, &threads); err != nil ||
		fmt.Sprintf("m=%d,t=%d,p=%d", a.memory, a.time, threads) != parts[3] {
		return a, fmt.Errorf("bad argon2id hash: parameters %q, want m=…,t=…,p=…", parts[3])
	}
	if a.memory < 8 || a.memory > argonMaxMemory || a.time < 1 || a.time > argonMaxTime || threads < 1 || threads > argonMaxThreads {
		return a, fmt.Errorf("bad argon2id hash: parameters %q out of range (m ≤ %d KiB, t ≤ %d, p ≤ %d)", parts[3], argonMaxMemory, argonMaxTime, argonMaxThreads)
	}
	a.threads = uint8(threads)
	var err error
	if a.salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil || len(a.salt) < 8 {
		return a, errors.New("bad argon2id hash: salt must be unpadded base64 of at least 8 bytes")
	}
	if a.sum, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil || len(a.sum) < 16 || len(a.sum) > 64 {
		return a, errors.New("bad argon2id hash: hash must be unpadded base64 of 16 to 64 bytes")
	}
	return a, nil
}

func (a argon2idHash) key(password []byte) []byte {
	return argon2.IDKey(password, a.salt, a.time, a.memory, a.threads, uint32(len(a.sum)))
}
