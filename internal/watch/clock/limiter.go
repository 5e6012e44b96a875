package clock

import (
	"net/netip"
	"sync"
	"time"
)

type verdict int

const (
	verdictAnswer verdict = iota
	verdictKoD
	verdictDrop
)

// limiter keeps a token bucket per client address. Over the rate a client
// gets one RATE kiss-of-death per second at most and otherwise silence,
// except that 1 in leak queries is still answered: a spoofed flood in a
// victim's name cannot cut the victim off entirely. At most max buckets are
// kept; when full, idle ones go first, else an arbitrary one.
type limiter struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	max     int
	leak    int
	buckets map[netip.Addr]*bucket
	swept   time.Time
}

type bucket struct {
	tokens  float64
	last    time.Time
	lastKoD time.Time
	over    int
}

func newLimiter(rate float64, burst, max, leak int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), max: max, leak: leak, buckets: map[netip.Addr]*bucket{}}
}

func (l *limiter) allow(a netip.Addr, now time.Time) verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[a]
	if b == nil {
		if len(l.buckets) >= l.max {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[a] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return verdictAnswer
	}
	b.over++
	if l.leak > 0 && b.over%l.leak == 0 {
		return verdictAnswer
	}
	if now.Sub(b.lastKoD) >= time.Second {
		b.lastKoD = now
		return verdictKoD
	}
	return verdictDrop
}

// evict frees room for one bucket: every bucket that has refilled (its
// client is idle, forgetting it changes nothing), or one at random. The
// sweep runs at most once a second so a flood of new sources costs O(1).
func (l *limiter) evict(now time.Time) {
	if now.Sub(l.swept) >= time.Second {
		l.swept = now
		full := time.Duration(l.burst / l.rate * float64(time.Second))
		for a, b := range l.buckets {
			if now.Sub(b.last) >= full {
				delete(l.buckets, a)
			}
		}
		if len(l.buckets) < l.max {
			return
		}
	}
	for a := range l.buckets {
		delete(l.buckets, a)
		return
	}
}
