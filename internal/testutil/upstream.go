package testutil

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Upstream is a test backend on loopback: it counts the requests it
// answers, can wait before answering (like PHP does), and can be stopped
// and started again on the same address.
type Upstream struct {
	URL      string // "http://127.0.0.1:PORT"
	Addr     string
	requests atomic.Int64
	delay    atomic.Int64 // nanoseconds
	handler  http.Handler

	t   testing.TB
	mu  sync.Mutex
	srv *http.Server
}

// StartUpstream serves h (after the delay, counting) until the test ends.
func StartUpstream(t testing.TB, h http.Handler) *Upstream {
	t.Helper()
	u := &Upstream{handler: h, t: t}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.Addr = ln.Addr().String()
	u.URL = "http://" + u.Addr
	u.serve(ln)
	t.Cleanup(u.Stop)
	return u
}

func (u *Upstream) serve(ln net.Listener) {
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.requests.Add(1)
		if d := time.Duration(u.delay.Load()); d > 0 {
			time.Sleep(d)
		}
		u.handler.ServeHTTP(w, r)
	})}
	u.mu.Lock()
	u.srv = srv
	u.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			u.t.Log("test upstream:", err)
		}
	}()
}

// Requests is how many requests reached the upstream so far.
func (u *Upstream) Requests() int64 { return u.requests.Load() }

// SetDelay makes every answer wait d.
func (u *Upstream) SetDelay(d time.Duration) { u.delay.Store(int64(d)) }

// Stop closes the listener and every connection: the address refuses.
func (u *Upstream) Stop() {
	u.mu.Lock()
	srv := u.srv
	u.srv = nil
	u.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Start serves again on the same address after Stop.
func (u *Upstream) Start() {
	u.t.Helper()
	ln, err := net.Listen("tcp", u.Addr)
	if err != nil {
		u.t.Fatal(err)
	}
	u.serve(ln)
}
