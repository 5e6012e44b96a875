package sshd

import (
	"crypto/rand"
	"sync"
	"time"

	"bartleby/internal/sshd/passwd"
)

// Failed password checks all take the same time, whether the user exists
// and whatever their hash: otherwise the time of a failure tells an
// attacker which names are users (a $6$ hash checks in milliseconds, a
// bcrypt one in a quarter of a second). Two things make it so:
//   - an unknown user's password is checked against the slowest of the
//     configured hashes (the same kind and cost as a real user's), so
//     both cost the same CPU;
//   - every failure is padded to a floor: the slowest check seen so far
//     plus a quarter, and at least minFailTime, like OpenSSH's
//     ensure_minimum_time_since.
const (
	minFailTime = 50 * time.Millisecond
	maxFailTime = 5 * time.Second // a floor never grows past this
)

// failTimer pads failed checks to the floor.
type failTimer struct {
	mu      sync.Mutex
	slowest time.Duration
}

// observe records how long one check took.
func (f *failTimer) observe(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slowest = min(max(f.slowest, d), maxFailTime)
}

// floor is how long every failed check takes.
func (f *failTimer) floor() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return max(minFailTime, f.slowest+f.slowest/4)
}

// settle records a check that started at start and, when it failed,
// sleeps until the floor has passed.
func (f *failTimer) settle(start time.Time, failed bool) {
	took := time.Since(start)
	f.observe(took)
	if failed {
		time.Sleep(f.floor() - took)
	}
}

// slowestHash picks the dummy hash for unknown users: of the configured
// users' hashes, one of each kind and cost is timed against a random
// password and the slowest is kept, with its time as the first floor. With
// no password at all configured, a bcrypt hash of the kind
// `bartleby sftp hash-password` makes stands in.
func slowestHash(users map[string]*user, timer *failTimer) (string, error) {
	seen := map[string]bool{}
	var dummy string
	var slowest time.Duration
	for _, u := range users {
		p := passwd.Params(u.hash)
		if u.hash == "" || seen[p] {
			continue
		}
		seen[p] = true
		start := time.Now()
		passwd.Verify(u.hash, rand.Text())
		if took := time.Since(start); took >= slowest {
			dummy, slowest = u.hash, took
		}
	}
	if dummy == "" {
		var err error
		if dummy, err = passwd.Hash(rand.Text()); err != nil {
			return "", err
		}
	}
	timer.observe(slowest)
	return dummy, nil
}
