// Package connlimit counts a listener's connections per client address, so
// that a few addresses cannot take every slot: the SSH server's
// unauthenticated connections and the backup MX's sessions use it.
package connlimit

import (
	"net"
	"net/netip"
	"sync"
)

// Limiter admits at most total connections, at most perAddr from one
// address, and keeps the last quarter of total for addresses that hold
// none yet.
type Limiter struct {
	total, perAddr int

	mu sync.Mutex
	n  int
	by map[netip.Addr]int
}

// New makes a limiter; total and perAddr must be positive.
func New(total, perAddr int) *Limiter {
	return &Limiter{total: total, perAddr: perAddr, by: map[netip.Addr]int{}}
}

// Key is what connections are counted against: an IPv4 address, or an
// IPv6 /64, since one client usually holds a whole /64.
func Key(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// AddrOf is the client address of a connection's remote end; the zero
// Addr (one shared key) when it cannot be read.
func AddrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap.Addr().Unmap()
}

// Take admits a connection from a, or reports false. Refused: when total
// are open; when a holds perAddr; when a already holds one and only the
// reserved last quarter is left.
func (l *Limiter) Take(a netip.Addr) bool {
	a = Key(a)
	l.mu.Lock()
	defer l.mu.Unlock()
	held := l.by[a]
	if l.n >= l.total || held >= l.perAddr || held > 0 && l.n >= l.total-l.total/4 {
		return false
	}
	l.n++
	l.by[a]++
	return true
}

// TakeTrusted admits a connection from a trusted address (the host's own
// programs) while fewer than total are open: as Postfix exempts
// mynetworks from its per-client limits, neither perAddr nor the reserve
// applies. Give returns the slot as for Take.
func (l *Limiter) TakeTrusted(a netip.Addr) bool {
	a = Key(a)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n >= l.total {
		return false
	}
	l.n++
	l.by[a]++
	return true
}

// Give returns a slot taken for a.
func (l *Limiter) Give(a netip.Addr) {
	a = Key(a)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n--
	if l.by[a]--; l.by[a] <= 0 {
		delete(l.by, a)
	}
}

// Holds reports whether a holds a slot now.
func (l *Limiter) Holds(a netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.by[Key(a)] > 0
}
