// Package lasthour counts events over the last hour in one-minute buckets,
// so that a card can say "12 delivered in the last hour" in fixed memory
// whatever the rate, without reading logs back.
package lasthour

import (
	"sync"
	"time"
)

// minutes is the window: the current minute and the 59 before it.
const minutes = 60

// Counter counts events in the last hour. The zero value is ready to use
// and safe for concurrent use.
type Counter struct {
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time

	mu      sync.Mutex
	buckets [minutes]bucket
}

// bucket is the count for one minute since the Unix epoch.
type bucket struct {
	minute int64
	n      uint64
}

func (c *Counter) minute() int64 {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	return now().Unix() / 60
}

// Add counts one event now.
func (c *Counter) Add() {
	m := c.minute()
	c.mu.Lock()
	defer c.mu.Unlock()
	b := &c.buckets[m%minutes]
	if b.minute != m {
		*b = bucket{minute: m} // a minute an hour ago: reuse the slot
	}
	b.n++
}

// Count is the number of events in the current minute and the 59 before
// it.
func (c *Counter) Count() uint64 {
	m := c.minute()
	c.mu.Lock()
	defer c.mu.Unlock()
	var sum uint64
	for _, b := range c.buckets {
		if b.minute > m-minutes && b.minute <= m {
			sum += b.n
		}
	}
	return sum
}
