package accept

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// flaky fails its first accepts with errs, then hands out real connections.
type flaky struct {
	net.Listener
	errs []error
}

func (f *flaky) Accept() (net.Conn, error) {
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return nil, err
	}
	return f.Listener.Accept()
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func opErr(errno syscall.Errno) error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
}

func TestRetrySurvivesTransientErrors(t *testing.T) {
	ln := listen(t)
	var died atomic.Int32
	r := Retry(&flaky{Listener: ln, errs: []error{opErr(syscall.EMFILE), opErr(syscall.ENFILE), opErr(syscall.ECONNABORTED)}},
		slog.New(slog.DiscardHandler), func(error) { died.Add(1) })
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			c.Close()
		}
	}()
	c, err := r.Accept()
	if err != nil {
		t.Fatalf("accept after EMFILE, ENFILE, ECONNABORTED: %v", err)
	}
	c.Close()
	if died.Load() != 0 {
		t.Fatal("a transient error was reported as a death")
	}
}

func TestRetryReportsPermanentError(t *testing.T) {
	ln := listen(t)
	var got error
	r := Retry(&flaky{Listener: ln, errs: []error{opErr(syscall.EINVAL)}}, slog.New(slog.DiscardHandler), func(err error) { got = err })
	if _, err := r.Accept(); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("accept returned %v", err)
	}
	if !errors.Is(got, syscall.EINVAL) {
		t.Fatalf("died got %v", got)
	}
}

func TestCloseIsNotADeath(t *testing.T) {
	ln := listen(t)
	r := Retry(ln, slog.New(slog.DiscardHandler), func(err error) { t.Errorf("died: %v", err) })
	r.Close()
	if _, err := r.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("accept on a closed listener: %v", err)
	}
}

// TestCloseEndsTheWait: a Close during the backoff returns at once.
func TestCloseEndsTheWait(t *testing.T) {
	ln := listen(t)
	errs := make([]error, 20)
	for i := range errs {
		errs[i] = opErr(syscall.EMFILE)
	}
	r := Retry(&flaky{Listener: ln, errs: errs}, slog.New(slog.DiscardHandler), func(err error) { t.Errorf("died: %v", err) })
	res := make(chan error, 1)
	go func() { _, err := r.Accept(); res <- err }()
	time.Sleep(50 * time.Millisecond)
	r.Close()
	if err := <-res; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("accept after close: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	var b Backoff
	want := []time.Duration{5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000}
	for i, w := range want {
		if got := b.Next(); got != w*time.Millisecond {
			t.Fatalf("wait %d = %v, want %v", i, got, w*time.Millisecond)
		}
	}
	b.Reset()
	if got := b.Next(); got != FirstWait {
		t.Fatalf("after reset: %v", got)
	}
}
