package testutil

import (
	"testing"
	"time"
)

// pollEvery is how often Eventually asks: often enough that a test waits
// little past the moment, rarely enough not to load a 2-core machine.
const pollEvery = 50 * time.Millisecond

// Eventually asks cond every 50 ms until it returns nil, and fails the
// test with what and cond's last error once timeout has passed. The
// timeout is a ceiling for a slow machine, never a figure asserted: a
// test that passes waits only as long as the behaviour takes. cond may
// call tb.Fatal itself for a state that can never turn good.
func Eventually(tb testing.TB, timeout time.Duration, what string, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("waiting %v for %s: %v", timeout, what, err)
		}
		time.Sleep(pollEvery)
	}
}
