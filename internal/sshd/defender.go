package sshd

import (
	"net/netip"
	"sync"
	"time"

	"bartleby/internal/connlimit"
)

// defender counts failed logins per address: each failure slows the next
// attempt a little, and too many within the window block the address, as
// SFTPGo's defender and fail2ban do.
type defender struct {
	mu       sync.Mutex
	entries  map[netip.Addr]*record
	limit    int
	window   time.Duration
	blockFor time.Duration
	now      func() time.Time
}

type record struct {
	failures int
	first    time.Time // start of the current window
	blocked  time.Time // blocked until
	from     string    // the fleet node that blocked it; "" for this one
}

// key is what failures are counted against: an IPv4 address or an IPv6
// /64, as for connection slots.
func key(a netip.Addr) netip.Addr { return connlimit.Key(a) }

// maxTracked bounds the table: beyond it, stale entries are dropped and
// then new addresses are not tracked (they are still limited per
// connection by MaxAuthTries).
const maxTracked = 100_000

// delayStep and maxDelay shape the slow-down after failures.
const (
	delayStep = 250 * time.Millisecond
	maxDelay  = 2 * time.Second
)

func newDefender(limit int, window, blockFor time.Duration) *defender {
	return &defender{entries: map[netip.Addr]*record{}, limit: limit, window: window, blockFor: blockFor, now: time.Now}
}

// set changes the settings; the failures and blocks counted so far stay.
func (d *defender) set(limit int, window, blockFor time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.limit, d.window, d.blockFor = limit, window, blockFor
}

// Blocked reports whether addr is blocked now.
func (d *defender) Blocked(addr netip.Addr) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.entries[key(addr)]
	return r != nil && d.now().Before(r.blocked)
}

// Delay is how long to wait before checking a password from addr.
func (d *defender) Delay(addr netip.Addr) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.entries[key(addr)]
	if r == nil || d.now().Sub(r.first) > d.window {
		return 0
	}
	return min(time.Duration(r.failures)*delayStep, maxDelay)
}

// Fail records a failure and reports whether it blocked addr, and until
// when.
func (d *defender) Fail(addr netip.Addr) (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	addr = key(addr)
	r := d.entries[addr]
	if r == nil {
		if len(d.entries) >= maxTracked && !d.prune(now) {
			return time.Time{}, false
		}
		r = &record{first: now}
		d.entries[addr] = r
	}
	if now.Sub(r.first) > d.window {
		r.failures, r.first = 0, now
	}
	r.failures++
	if r.failures >= d.limit && !now.Before(r.blocked) {
		r.blocked = now.Add(d.blockFor)
		r.failures, r.first = 0, now
		return r.blocked, true
	}
	return time.Time{}, false
}

// Succeed forgets the failures of an address that logged in.
func (d *defender) Succeed(addr netip.Addr) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.entries, key(addr))
}

// prune drops entries neither blocked nor in a live window; it reports
// whether room was made.
func (d *defender) prune(now time.Time) bool {
	for a, r := range d.entries {
		if !now.Before(r.blocked) && now.Sub(r.first) > d.window {
			delete(d.entries, a)
		}
	}
	return len(d.entries) < maxTracked
}

// Blocked is one blocked address (an IPv6 /64 shows as its first address)
// for `bartleby sftp blocked`.
type Blocked struct {
	Addr  string    `json:"addr"`
	Until time.Time `json:"until"`
	// From is the fleet node whose defender blocked it; "" for this node.
	From string `json:"from,omitempty"`
}

// List returns the addresses blocked now.
func (d *defender) List() []Blocked {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	out := []Blocked{}
	for a, r := range d.entries {
		if now.Before(r.blocked) {
			out = append(out, Blocked{Addr: a.String(), Until: r.blocked, From: r.from})
		}
	}
	return out
}

// Unblock forgets addr's failures and block; it reports whether it was
// blocked.
func (d *defender) Unblock(addr netip.Addr) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.entries[key(addr)]
	delete(d.entries, key(addr))
	return r != nil && d.now().Before(r.blocked)
}

// BlockFrom applies a block another fleet node made (addr is already a
// key); a longer block already here stays.
func (d *defender) BlockFrom(addr netip.Addr, until time.Time, node string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	r := d.entries[addr]
	if r != nil && !r.blocked.Before(until) {
		return
	}
	if r == nil {
		if len(d.entries) >= maxTracked && !d.prune(now) {
			return
		}
		r = &record{first: now}
		d.entries[addr] = r
	}
	r.blocked, r.from = until, node
}

// UnblockFrom lifts a block another node made, when that node lifts it
// (unblocked by an operator, or its lease ended).
func (d *defender) UnblockFrom(addr netip.Addr, node string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r := d.entries[addr]; r != nil && r.from == node {
		delete(d.entries, addr)
	}
}
