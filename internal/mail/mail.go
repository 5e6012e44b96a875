// Package mail is the mail relay and backup MX: it owns the queue, the
// loopback submission listener, the backup MX listener and delivery.
package mail

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"

	"bartleby/internal/mail/queue"
	"bartleby/internal/part"
)

// Mail is the running mail part.
type Mail struct {
	stateDir string
	log      *slog.Logger
	met      *metrics
	dsnLimit dsnLimiter
	// fail marks the part failing: a listening socket died for good.
	fail func(error)
	// cur is the config in force; a reload swaps it. SMTP sessions keep
	// the one they started with.
	cur atomic.Pointer[conf]
	// primaryDown is set when a delivery could not connect to the primary,
	// so the probe flushes once it answers again even if every probe
	// during the outage missed it.
	primaryDown atomic.Bool

	q    *queue.Queue
	run  *runner
	stop chan struct{}
	wg   sync.WaitGroup

	// mu guards the listening sockets and the servers they feed.
	mu      sync.Mutex
	sockets []*socket
	live    *servers
	// drains counts the servers of older configs still finishing their
	// sessions.
	drains sync.WaitGroup
}

// New builds the mail part, or returns nil when its section is absent.
func New(env *part.Env) (part.Part, error) {
	if env.Config.Mail == nil {
		return nil, nil
	}
	k, err := newConf(env)
	if err != nil {
		return nil, err
	}
	m := &Mail{stateDir: env.Config.StateDir, log: env.Log, fail: env.Fail, stop: make(chan struct{})}
	m.cur.Store(k)
	m.met = newMetrics(env.Metrics, m)
	return m, nil
}

func (m *Mail) conf() *conf { return m.cur.Load() }

// Name is "mail".
func (m *Mail) Name() string { return "mail" }

// Addrs lists the SMTP listeners.
func (m *Mail) Addrs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, s := range m.sockets {
		out = append(out, "smtp://"+s.ln.Addr().String())
	}
	return out
}

// Start opens the queue, binds the listeners, picks up the maildrop and
// starts delivering.
func (m *Mail) Start() error {
	q, warns, err := queue.Open(filepath.Join(m.stateDir, "queue"))
	if err != nil {
		return err
	}
	for _, w := range warns {
		m.log.Error("unreadable queue file moved to queue/corrupt", "event", "mail.queue_corrupt", "error", w)
	}
	m.q = q
	m.run = newRunner(m)
	if err := m.listen(); err != nil {
		q.Close()
		return err
	}
	m.run.start()
	m.wg.Add(1)
	go m.pickupLoop()
	if m.conf().cfg.BackupMX != nil {
		m.wg.Add(1)
		go m.probeLoop()
	}
	m.log.Info("mail queue opened", "event", "mail.queue_opened", "dir", q.Dir(), "messages", q.Len())
	return nil
}

// listen starts the SMTP servers of the current config and binds their
// addresses.
func (m *Mail) listen() error {
	k := m.conf()
	g, err := m.newServers(k)
	if err != nil {
		return err
	}
	socks, err := m.openSockets(k, wanted(k.cfg))
	if err != nil {
		g.shutdown(context.Background())
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.live, m.sockets = g, socks
	for _, s := range socks {
		s.feed(g)
		s.serve(m)
	}
	return nil
}

// Shutdown stops the listeners (waiting for the sessions under way) and
// the deliveries in flight, until ctx ends.
func (m *Mail) Shutdown(ctx context.Context) error {
	close(m.stop)
	m.mu.Lock()
	for _, s := range m.sockets {
		s.ln.Close()
	}
	g := m.live
	m.mu.Unlock()
	errs := []error{g.shutdown(ctx), waitCtx(ctx, &m.drains)}
	m.run.shutdown(ctx)
	m.wg.Wait()
	errs = append(errs, m.q.Close())
	return errors.Join(errs...)
}

// waitCtx waits for wg until ctx ends.
func waitCtx(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
