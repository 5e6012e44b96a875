package proxycache

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// entry is one stored response. Its fields are never modified once it is
// in the store: every request serving it shares them.
type entry struct {
	key      string // primary key: host + path + query
	variant  string // the request's values of the Vary headers
	vary     []string
	status   int
	header   http.Header // value slices clipped, so an append copies
	body     []byte
	length   []string  // Content-Length value
	modTime  time.Time // Last-Modified, for conditional requests
	storedAt time.Time
	age      time.Duration // Age when stored
	fresh    time.Duration // freshness lifetime
	swr, sie time.Duration // stale-while-revalidate, stale-if-error
}

// size is what the entry counts against max_size: its body, its header
// and a fixed overhead.
func (e *entry) size() int64 {
	n := int64(len(e.body) + len(e.key) + len(e.variant) + 256)
	for k, vs := range e.header {
		for _, v := range vs {
			n += int64(len(k) + len(v))
		}
	}
	return n
}

// currentAge is RFC 9111 §4.2.3's, with the upstream's Age as the initial.
func (e *entry) currentAge(now time.Time) time.Duration {
	return e.age + now.Sub(e.storedAt)
}

// staleness is how long the entry has been stale (≤ 0 while fresh).
func (e *entry) staleness(now time.Time) time.Duration {
	return e.currentAge(now) - e.fresh
}

// varyIndex remembers the Vary of a primary key, so that a lookup knows
// which request headers pick the variant. It lives in the same LRU, under
// a key no URL can make.
const varyPrefix = "\x00vary "

type varyEntry struct{ names []string }

// store is a byte-bounded LRU of entries.
type store struct {
	mu       sync.Mutex
	lru      *simplelru.LRU[string, any]
	bytes    int64
	maxBytes int64
	onBytes  func(delta int64) // metrics
}

func newStore(maxBytes int64, onBytes func(int64)) *store {
	s := &store{maxBytes: maxBytes, onBytes: onBytes}
	// The count bound is never the one reached: max_size is.
	lru, _ := simplelru.NewLRU[string, any](1<<30, s.evicted)
	s.lru = lru
	return s
}

func (s *store) evicted(_ string, v any) {
	if e, ok := v.(*entry); ok {
		s.bytes -= e.size()
		s.onBytes(-e.size())
	}
}

func fullKey(key, variant string) string { return key + "\x00" + variant }

// get returns the entry of a request's primary key and variant.
func (s *store) get(key string, variant func(names []string) string) *entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	if v, ok := s.lru.Get(varyPrefix + key); ok {
		names = v.(*varyEntry).names
	}
	v, ok := s.lru.Get(fullKey(key, variant(names)))
	if !ok {
		return nil
	}
	return v.(*entry)
}

// varyOf is the Vary last stored for a primary key.
func (s *store) varyOf(key string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.lru.Peek(varyPrefix + key); ok {
		return v.(*varyEntry).names
	}
	return nil
}

// put stores e, evicting the least recently used entries beyond maxBytes.
func (s *store) put(e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lru.Add(varyPrefix+e.key, &varyEntry{names: e.vary})
	k := fullKey(e.key, e.variant)
	if old, ok := s.lru.Peek(k); ok { // Add replaces without calling evicted
		s.evicted(k, old)
	}
	s.lru.Add(k, e)
	s.bytes += e.size()
	s.onBytes(e.size())
	for s.bytes > s.maxBytes && s.lru.Len() > 0 {
		s.lru.RemoveOldest()
	}
}

// purge removes every entry whose path starts with prefix and returns how
// many it removed. Keys are host + path, so the host is skipped.
func (s *store) purge(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, k := range s.lru.Keys() {
		v, _ := s.lru.Peek(k)
		e, ok := v.(*entry)
		if !ok {
			continue
		}
		if _, p, _ := strings.Cut(e.key, "/"); strings.HasPrefix("/"+p, prefix) {
			s.lru.Remove(k)
			n++
		}
	}
	return n
}

// close counts every entry off the metrics.
func (s *store) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lru.Purge()
}
