// Package accept keeps servers accepting through the errors a busy host
// sees — out of file descriptors, a connection aborted before it was
// accepted — and makes a listener that fails for good say so instead of
// going quiet. Every accept loop of the daemon goes through it.
package accept

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"
)

// transient are the errors an accept or read loop waits out: the
// resource shortages and aborted connections net/http's Server.Serve
// also survives.
var transient = []syscall.Errno{
	syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED, syscall.ECONNRESET,
	syscall.ENOBUFS, syscall.ENOMEM, syscall.EINTR, syscall.EAGAIN, syscall.ETIMEDOUT,
}

// Transient reports whether err is worth retrying after a pause.
func Transient(err error) bool {
	for _, e := range transient {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Backoff is net/http's wait between failed accepts: 5 ms, doubling, at
// most 1 s. The zero value is ready.
type Backoff struct{ d time.Duration }

// Backoff bounds.
const (
	FirstWait = 5 * time.Millisecond
	MaxWait   = time.Second
)

// Next is the wait before the next try.
func (b *Backoff) Next() time.Duration {
	b.d = min(max(2*b.d, FirstWait), MaxWait)
	return b.d
}

// Reset starts over after a success.
func (b *Backoff) Reset() { b.d = 0 }

// Retry wraps ln so that Accept waits out transient errors with Backoff.
// Any other error, except the listener being closed, is handed to died
// (once) and returned: the server stops and the part is marked failing.
func Retry(ln net.Listener, log *slog.Logger, died func(error)) net.Listener {
	return &listener{Listener: ln, log: log, died: died, done: make(chan struct{})}
}

type listener struct {
	net.Listener
	log       *slog.Logger
	died      func(error)
	done      chan struct{}
	closeOnce sync.Once
	diedOnce  sync.Once
}

func (l *listener) Accept() (net.Conn, error) {
	var b Backoff
	failures := 0
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			if failures > 0 {
				l.log.Info("accepting again", "addr", l.Addr().String(), "failed_accepts", failures)
			}
			return c, nil
		}
		if l.closed() || errors.Is(err, net.ErrClosed) {
			return nil, err
		}
		if !Transient(err) {
			l.diedOnce.Do(func() { l.died(fmt.Errorf("listener %s stopped: %w", l.Addr(), err)) })
			return nil, err
		}
		wait := b.Next()
		if failures == 0 {
			l.log.Warn("accept failed, retrying", "addr", l.Addr().String(), "error", err, "retry_in", wait)
		}
		failures++
		select {
		case <-time.After(wait):
		case <-l.done:
			return nil, net.ErrClosed
		}
	}
}

func (l *listener) closed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

func (l *listener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}
