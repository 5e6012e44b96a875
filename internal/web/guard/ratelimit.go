package guard

import (
	"net/netip"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"

	"bartleby/internal/connlimit"
)

// maxTracked bounds the addresses a limiter remembers; the least recently
// seen is forgotten first (and starts again with a full bucket).
const maxTracked = 65536

// RateLimiter is a token bucket per client address: per IPv4 address, per
// IPv6 /64 (connlimit.Key), since one client holds a whole /64.
type RateLimiter struct {
	limit rate.Limit
	burst int
	addrs *lru.Cache[netip.Addr, *rate.Limiter]
}

// NewRateLimiter allows events per period per address, burst at once.
func NewRateLimiter(events int, per time.Duration, burst int) *RateLimiter {
	c, _ := lru.New[netip.Addr, *rate.Limiter](maxTracked)
	return &RateLimiter{limit: rate.Limit(float64(events) / per.Seconds()), burst: burst, addrs: c}
}

// Allow takes a token for ip; when none is left it returns how long until
// one is.
func (rl *RateLimiter) Allow(ip netip.Addr, now time.Time) (time.Duration, bool) {
	k := connlimit.Key(ip)
	l, ok := rl.addrs.Get(k)
	if !ok {
		l = rate.NewLimiter(rl.limit, rl.burst)
		if prev, found, _ := rl.addrs.PeekOrAdd(k, l); found {
			l = prev
		}
	}
	res := l.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}
