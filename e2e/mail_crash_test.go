package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"bartleby/internal/testutil"
)

// sendOne submits one message over SMTP and reports whether it got 250.
func sendOne(addr, token string) bool {
	c, err := smtp.Dial(addr)
	if err != nil {
		return false
	}
	defer c.Close()
	if c.Mail("load@example.org", nil) != nil || c.Rcpt("sink@example.net", nil) != nil {
		return false
	}
	w, err := c.Data()
	if err != nil {
		return false
	}
	fmt.Fprintf(w, "Subject: load\r\nX-Token: %s\r\n\r\n%s\r\n", token, strings.Repeat("0123456789012345678901234567890123456789\r\n", 25))
	return w.Close() == nil
}

// TestCrashLosesNothing kills the daemon with SIGKILL while it accepts and
// delivers a stream of messages, restarts it on the same state, and checks
// that every message answered 250 reaches the smarthost at least once.
func TestCrashLosesNothing(t *testing.T) {
	t.Parallel()
	r := startRelay(t, smarthostRelayOpts{retry: "1s"})
	const senders, each = 4, 50
	var acked sync.Map
	var nAcked atomic.Int64
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				tok := fmt.Sprintf("g%d-m%d", g, i)
				if sendOne(r.submit, tok) {
					acked.Store(tok, true)
					nAcked.Add(1)
				}
			}
		}()
	}
	for start := time.Now(); nAcked.Load() < 60; time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > time.Minute {
			t.Fatalf("only %d messages acknowledged in a minute\n%s", nAcked.Load(), r.d.Logs())
		}
	}
	r.d.Cmd.Process.Signal(syscall.SIGKILL)
	<-r.d.Exited()
	wg.Wait()

	restart := exec.Command(testutil.Binary(t), "serve", "-c", r.d.Config)
	logs := &strings.Builder{}
	var mu sync.Mutex
	restart.Stdout, restart.Stderr = lockedWriter{&mu, logs}, lockedWriter{&mu, logs}
	if err := restart.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { restart.Process.Signal(syscall.SIGTERM); restart.Wait() })

	want := 0
	acked.Range(func(any, any) bool { want++; return true })
	deadline := time.Now().Add(90 * time.Second)
	var missing []string
	for {
		got := map[string]bool{}
		for _, m := range r.peer.Messages() {
			if i := strings.Index(string(m.Data), "X-Token: "); i >= 0 {
				got[strings.Fields(string(m.Data[i+9:]))[0]] = true
			}
		}
		missing = missing[:0]
		acked.Range(func(k, _ any) bool {
			if !got[k.(string)] {
				missing = append(missing, k.(string))
			}
			return true
		})
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			mu.Lock()
			t.Fatalf("%d of %d acknowledged messages never reached the smarthost: %v\nfirst run:\n%s\nafter restart:\n%s",
				len(missing), want, missing, r.d.Logs(), logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d messages acknowledged before/after the kill, all delivered; smarthost received %d (duplicates allowed)", want, len(r.peer.Messages()))
	if want < 60 {
		t.Fatalf("only %d acknowledged", want)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
