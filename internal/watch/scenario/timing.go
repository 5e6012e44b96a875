package scenario

import (
	"crypto/tls"
	"net/http/httptrace"
	"sync"
	"time"
)

// Phases are an HTTP exchange's parts, named as blackbox_exporter names
// them. A step's phases are summed over its requests and redirects.
type Phases struct {
	Resolve    time.Duration `json:"resolve_ns"`
	Connect    time.Duration `json:"connect_ns"`
	TLS        time.Duration `json:"tls_ns"`
	Processing time.Duration `json:"processing_ns"` // request written to first byte
	Transfer   time.Duration `json:"transfer_ns"`   // first byte to body read
}

// PhaseNames are the metric label values, in order.
var PhaseNames = []string{"resolve", "connect", "tls", "processing", "transfer"}

// List returns the phases in PhaseNames order.
func (p Phases) List() []time.Duration {
	return []time.Duration{p.Resolve, p.Connect, p.TLS, p.Processing, p.Transfer}
}

func (p *Phases) add(o Phases) {
	p.Resolve += o.Resolve
	p.Connect += o.Connect
	p.TLS += o.TLS
	p.Processing += o.Processing
	p.Transfer += o.Transfer
}

// phaseTimer collects the phases of one request and its redirects from
// httptrace callbacks, which may come from several goroutines (parallel
// dials).
type phaseTimer struct {
	mu                            sync.Mutex
	p                             Phases
	dns, conn, hs, wrote, firstBy time.Time
}

func (t *phaseTimer) trace() *httptrace.ClientTrace {
	lock := func(f func(now time.Time)) { t.mu.Lock(); f(time.Now()); t.mu.Unlock() }
	return &httptrace.ClientTrace{
		GetConn: func(string) {
			// A new hop: the previous one's body was drained by now.
			lock(func(now time.Time) { t.endTransfer(now) })
		},
		DNSStart:          func(httptrace.DNSStartInfo) { lock(func(now time.Time) { t.dns = now }) },
		DNSDone:           func(httptrace.DNSDoneInfo) { lock(func(now time.Time) { t.p.Resolve += since(t.dns, now) }) },
		ConnectStart:      func(_, _ string) { lock(func(now time.Time) { t.conn = now }) },
		ConnectDone:       func(_, _ string, _ error) { lock(func(now time.Time) { t.p.Connect += since(t.conn, now) }) },
		TLSHandshakeStart: func() { lock(func(now time.Time) { t.hs = now }) },
		TLSHandshakeDone: func(tls.ConnectionState, error) {
			lock(func(now time.Time) { t.p.TLS += since(t.hs, now) })
		},
		WroteRequest: func(httptrace.WroteRequestInfo) { lock(func(now time.Time) { t.wrote = now }) },
		GotFirstResponseByte: func() {
			lock(func(now time.Time) { t.p.Processing += since(t.wrote, now); t.firstBy = now })
		},
	}
}

func (t *phaseTimer) endTransfer(now time.Time) {
	t.p.Transfer += since(t.firstBy, now)
	t.firstBy = time.Time{}
}

// done closes the last transfer and returns the totals.
func (t *phaseTimer) done(now time.Time) Phases {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.endTransfer(now)
	return t.p
}

func since(start, now time.Time) time.Duration {
	if start.IsZero() {
		return 0
	}
	return now.Sub(start)
}
