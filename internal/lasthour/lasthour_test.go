package lasthour

import (
	"testing"
	"time"
)

// TestCounterWindow: events count for an hour, then drop out minute by
// minute, and a slot reused after an hour starts from zero.
func TestCounterWindow(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 30, 0, time.UTC)
	c := &Counter{Now: func() time.Time { return now }}
	if n := c.Count(); n != 0 {
		t.Fatalf("empty counter: %d", n)
	}
	c.Add()
	c.Add()
	now = now.Add(30 * time.Minute)
	c.Add()
	if n := c.Count(); n != 3 {
		t.Fatalf("after 30 min: %d, want 3", n)
	}
	now = now.Add(30 * time.Minute) // 11:00:30: the 10:00 minute is out
	if n := c.Count(); n != 1 {
		t.Fatalf("after 60 min: %d, want 1", n)
	}
	c.Add() // same slot as 10:00, reused
	if n := c.Count(); n != 2 {
		t.Fatalf("after reuse: %d, want 2", n)
	}
	now = now.Add(2 * time.Hour)
	if n := c.Count(); n != 0 {
		t.Fatalf("two hours later: %d, want 0", n)
	}
}

// TestCounterZeroValue: a Counter needs no constructor.
func TestCounterZeroValue(t *testing.T) {
	var c Counter
	c.Add()
	if n := c.Count(); n != 1 {
		t.Fatalf("count %d, want 1", n)
	}
}
