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
func TestFailureTimeHidesUsers(t *testing.T) {
	t.Parallel()
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
	took := map[string][]time.Duration{}
	for i := range 20 {
		for j, name := range names {
			// A fresh address each time: the defender's slow-down is not
			// what is measured here.
			addr := &net.TCPAddr{IP: net.IPv4(10, 0, byte(i), byte(j)), Port: 22}
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
	if lo, hi := slices.Min(medians), slices.Max(medians); float64(hi) > 1.2*float64(lo) {
		t.Errorf("median failure times %v for %v differ by more than 20%%", medians, names)
	}
}
