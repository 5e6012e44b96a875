package admin

import "time"

// prune keeps a table bounded: it deletes the entries of m whose end has
// come, and if m still holds max or more, the one that ends first.
func prune[K comparable, V any](m map[K]V, max int, end func(V) time.Time, now time.Time) {
	var first K
	var firstAt time.Time
	for k, v := range m {
		at := end(v)
		if !now.Before(at) {
			delete(m, k)
		} else if firstAt.IsZero() || at.Before(firstAt) {
			first, firstAt = k, at
		}
	}
	if len(m) >= max {
		delete(m, first)
	}
}
