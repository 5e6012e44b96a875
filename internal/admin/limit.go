package admin

import (
	"net/netip"
	"sync"
	"time"

	"bartleby/internal/connlimit"
)

// Failed logins allowed per address and window; IPv6 addresses count per
// /64, the block one host usually has.
const (
	loginFailures = 5
	loginWindow   = time.Minute
	maxLimitKeys  = 4096
)

// limiter counts failed logins per address in fixed windows.
type limiter struct {
	mu   sync.Mutex
	hits map[netip.Addr]*window
}

type window struct {
	start time.Time
	n     int
}

func newLimiter() *limiter { return &limiter{hits: map[netip.Addr]*window{}} }

// take counts an attempt from ip before its password is checked, so that
// attempts sent in parallel cannot slip past the limit. Over the limit it
// counts nothing and returns how long ip must wait; else zero.
func (l *limiter) take(ip netip.Addr, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := connlimit.Key(ip)
	w := l.hits[k]
	if w != nil && now.Sub(w.start) < loginWindow {
		if w.n >= loginFailures {
			return w.start.Add(loginWindow).Sub(now)
		}
		w.n++
		return 0
	}
	if w == nil && len(l.hits) >= maxLimitKeys {
		prune(l.hits, maxLimitKeys, func(w *window) time.Time { return w.start.Add(loginWindow) }, now)
	}
	l.hits[k] = &window{start: now, n: 1}
	return 0
}

// succeeded gives back the attempt of a login that worked: only failures
// count towards the limit.
func (l *limiter) succeeded(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := l.hits[connlimit.Key(ip)]; w != nil && w.n > 0 {
		w.n--
	}
}
