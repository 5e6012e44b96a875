// Package mail is the mail relay and backup MX: it owns the queue, the
// loopback submission listener, the backup MX listener and delivery.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/emersion/go-smtp"

	"bartleby/internal/accept"
	"bartleby/internal/config"
	"bartleby/internal/mail/aliases"
	"bartleby/internal/mail/queue"
	"bartleby/internal/mail/smtpd"
	"bartleby/internal/part"
)

// Mail is the running mail part.
type Mail struct {
	cfg      *config.Mail
	hostname string
	stateDir string
	log      *slog.Logger
	env      *part.Env
	aliases  *aliases.File
	set      settings
	met      *metrics
	dsnLimit dsnLimiter
	// primaryDown is set when a delivery could not connect to the primary,
	// so the probe flushes once it answers again even if every probe
	// during the outage missed it.
	primaryDown atomic.Bool

	q       *queue.Queue
	run     *runner
	servers []*smtp.Server
	addrs   []string
	stop    chan struct{}
	wg      sync.WaitGroup
}

// New builds the mail part, or returns nil when its section is absent.
func New(env *part.Env) (part.Part, error) {
	cfg := env.Config.Mail
	if cfg == nil {
		return nil, nil
	}
	c := env.Config.Checker()
	set := compile(cfg, c)
	if err := c.Err(); err != nil {
		return nil, err
	}
	al, err := aliases.Open(cfg.Aliases)
	if err != nil {
		env.Log.Warn("aliases", "event", "mail.aliases_error", "error", err)
	}
	m := &Mail{cfg: cfg, hostname: env.Config.Hostname, stateDir: env.Config.StateDir,
		log: env.Log, env: env, aliases: al, set: set, stop: make(chan struct{})}
	m.met = newMetrics(env.Metrics, m)
	return m, nil
}

// Name is "mail".
func (m *Mail) Name() string { return "mail" }

// Addrs lists the SMTP listeners.
func (m *Mail) Addrs() []string { return m.addrs }

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
	m.run, err = newRunner(m)
	if err != nil {
		q.Close()
		return err
	}
	if err := m.listen(); err != nil {
		m.closeServers()
		q.Close()
		return err
	}
	m.run.start()
	m.wg.Add(1)
	go m.pickupLoop()
	if m.cfg.BackupMX != nil {
		m.wg.Add(1)
		go m.probeLoop()
	}
	m.log.Info("mail queue opened", "event", "mail.queue_opened", "dir", q.Dir(), "messages", q.Len())
	return nil
}

func (m *Mail) listen() error {
	if len(m.cfg.Submit) > 0 {
		s := m.submitServer(nil)
		for _, a := range m.cfg.Submit {
			if m.cfg.OnBackupMX(a) {
				continue // the backup MX listener serves it
			}
			if err := m.serve(s, a); err != nil {
				return err
			}
		}
		m.servers = append(m.servers, s)
	}
	if m.cfg.BackupMX != nil {
		return m.listenMX()
	}
	return nil
}

// submitServer is submission's SMTP server: relaying through the
// smarthost, long lines accepted and re-encoded. tlsCfg offers STARTTLS,
// for the clients of the port shared with the backup MX.
func (m *Mail) submitServer(tlsCfg *tls.Config) *smtp.Server {
	return smtpd.New(smtpd.Config{Name: "submit", Hostname: m.hostname, MaxSize: m.maxSize(),
		MaxRecipients: 1000, LongLines: true, TLS: tlsCfg, Log: m.log}, submitHandler{m})
}

func (m *Mail) serve(s *smtp.Server, addr string) error {
	ln, err := m.bind(addr)
	if err != nil {
		return err
	}
	go s.Serve(ln)
	return nil
}

// bind listens on addr: transient accept errors (out of file descriptors)
// are waited out, a permanent one marks the part failing.
func (m *Mail) bind(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	m.addrs = append(m.addrs, "smtp://"+ln.Addr().String())
	return accept.Retry(ln, m.log, m.env.Fail), nil
}

func (m *Mail) maxSize() int64 { return m.cfg.MaxSize.Bytes }

// Shutdown stops the listeners (waiting for sessions in DATA) and the
// deliveries in flight, until ctx ends.
func (m *Mail) Shutdown(ctx context.Context) error {
	close(m.stop)
	var errs []error
	for _, s := range m.servers {
		if err := s.Shutdown(ctx); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	m.run.shutdown(ctx)
	m.wg.Wait()
	errs = append(errs, m.q.Close())
	return errors.Join(errs...)
}

func (m *Mail) closeServers() {
	for _, s := range m.servers {
		s.Close()
	}
}
