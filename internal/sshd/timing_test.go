package sshd

import (
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	"bartleby/internal/config"
)

// meta is the connection a password callback sees.
type meta struct {
	ssh.ConnMetadata
	user string
	addr net.Addr
}

func (m meta) User() string         { return m.user }
func (m meta) RemoteAddr() net.Addr { return m.addr }

// TestFailureTimeHidesUsers: a wrong password takes the same time for a
// user with a $6$ hash, one with a bcrypt hash and a name that is no user
// (medians of 20 failures each, interleaved, within 20% of each other).
// Timing on a shared machine is noisy, so a round that misses is measured
// again, up to three rounds: a leak (0.11 s against 0.45 s before the fix)
// misses every round.
func TestFailureTimeHidesUsers(t *testing.T) {
	bc, err := bcrypt.GenerateFromPassword([]byte("bob-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]*user{
		"alice": {SSHUser: &config.SSHUser{Name: "alice"}, hash: "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		"bob":   {SSHUser: &config.SSHUser{Name: "bob"}, hash: string(bc)},
	}
	s := &Server{defender: newDefender(1000, time.Minute, time.Minute)}
	g := &generation{users: users}
	if g.dummyHash, err = slowestHash(users, &s.failTimer); err != nil {
		t.Fatal(err)
	}
	names := []string{"alice", "bob", "nobody"}
	var medians []time.Duration
	for round := range 3 {
		medians = failureMedians(t, s, g, names, round)
		if lo, hi := slices.Min(medians), slices.Max(medians); float64(hi) <= 1.2*float64(lo) {
			return
		}
	}
	t.Errorf("median failure times %v for %v differ by more than 20%% in three rounds", medians, names)
}

// failureMedians times 20 wrong passwords for each name, interleaved, and
// returns the median per name.
func failureMedians(t *testing.T, s *Server, g *generation, names []string, round int) []time.Duration {
	took := map[string][]time.Duration{}
	for i := range 20 {
		for j, name := range names {
			// A fresh address each time: the defender's slow-down is not
			// what is measured here.
			addr := &net.TCPAddr{IP: net.IPv4(10, byte(round), byte(i), byte(j)), Port: 22}
			start := time.Now()
			if _, err := s.password(g, meta{user: name, addr: addr}, []byte(fmt.Sprint("wrong", i))); err == nil {
				t.Fatalf("%s logged in with a wrong password", name)
			}
			took[name] = append(took[name], time.Since(start))
		}
	}
	var medians []time.Duration
	for _, name := range names {
		slices.Sort(took[name])
		medians = append(medians, took[name][len(took[name])/2])
	}
	return medians
}
