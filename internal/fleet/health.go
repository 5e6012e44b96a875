package fleet

import (
	"context"
	"errors"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// probeEvery is how often the node checks it can still reach a quorum: a
// linearizable read, never a write.
var probeEvery = time.Second

// Health is what a node knows of its link to the fleet.
type Health struct {
	OK    bool      // the last probe got a linearizable answer
	Since time.Time // when OK last changed
	Err   string    // why not OK
}

type health struct {
	mu      sync.Mutex
	h       Health
	changed chan struct{} // closed and replaced at every change of OK
}

func (h *health) set(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ok := err == nil
	if h.changed == nil {
		h.changed = make(chan struct{})
	}
	if ok != h.h.OK || h.h.Since.IsZero() {
		h.h.OK, h.h.Since = ok, time.Now()
		close(h.changed)
		h.changed = make(chan struct{})
	}
	h.h.Err = ""
	if err != nil {
		h.h.Err = err.Error()
	}
}

// Health returns the state of the link to etcd.
func (f *Fleet) Health() Health {
	f.health.mu.Lock()
	defer f.health.mu.Unlock()
	return f.health.h
}

// HealthChanged returns a channel closed at the next change of Health().OK.
func (f *Fleet) HealthChanged() <-chan struct{} {
	f.health.mu.Lock()
	defer f.health.mu.Unlock()
	return f.health.changed
}

// probe reads one key linearizably every probeEvery, which fails without
// a leader: a node cut off from the quorum learns it within a probe.
func (f *Fleet) probe(ctx context.Context) {
	defer f.wg.Done()
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := f.Timeout(ctx)
		_, err := f.cli.Get(rctx, f.s.Prefix+"members/", clientv3.WithCountOnly())
		cancel()
		if ctx.Err() != nil {
			return
		}
		f.health.set(noQuorum(err))
	}
}

// noQuorum wraps a failed request's error so that callers can tell a
// cluster without quorum (errors.Is ErrNoQuorum) from a refusal.
func noQuorum(err error) error {
	if err == nil || isAuth(err) || errors.Is(err, context.Canceled) {
		return err
	}
	return &quorumError{err}
}

type quorumError struct{ err error }

func (e *quorumError) Error() string   { return ErrNoQuorum.Error() + ": " + e.err.Error() }
func (e *quorumError) Unwrap() []error { return []error{ErrNoQuorum, e.err} }
