package mail

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"bartleby/internal/certs/capool"
	"bartleby/internal/config"
	"bartleby/internal/mail/deliver"
	"bartleby/internal/mail/queue"
	"bartleby/internal/mail/smtpd"
)

// mxServer is the backup MX of config k: STARTTLS with the configured or a
// self-signed certificate, only the configured domains.
func (m *Mail) mxServer(k *conf, tlsCfg *tls.Config) *smtp.Server {
	return smtpd.New(smtpd.Config{Name: roleMX, Hostname: k.hostname, MaxSize: k.maxSize(),
		MaxRecipients: k.cfg.BackupMX.MaxRecipients, TLS: tlsCfg, Spool: m.q.Dir(), Log: m.log}, &mxHandler{m: m, k: k})
}

// mxHandler accepts mail for the configured domains only: no open relay.
type mxHandler struct {
	m *Mail
	k *conf
}

func (h *mxHandler) Rcpt(addr string) error {
	b := h.k.cfg.BackupMX
	_, domain, _ := strings.Cut(addr, "@")
	if !domainListed(domain, b.Domains) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "relaying denied"}
	}
	if smtpd.SourceRouted(addr) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "relaying denied: sender-specified routing (% or ! in the local part)"}
	}
	if len(b.Recipients) > 0 && !listed(addr, b.Recipients) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such recipient here"}
	}
	return nil
}

// domainListed matches by smtpd.DomainKey (ASCII case, IDNs as
// A-labels); ".example.org" lists the subdomains of example.org.
func domainListed(domain string, list []string) bool {
	d, ok := smtpd.DomainKey(domain)
	if !ok {
		return false
	}
	for _, l := range list {
		sub := strings.HasPrefix(l, ".")
		k, ok := smtpd.DomainKey(strings.TrimPrefix(l, "."))
		switch {
		case !ok:
		case d == k && !sub, sub && strings.HasSuffix(d, "."+k):
			return true
		}
	}
	return false
}

func listed(addr string, list []string) bool {
	for _, l := range list {
		if smtpd.SameAddress(addr, l) {
			return true
		}
	}
	return false
}

// Queue stores the message for the primary. With primary = "mx" each
// domain gets its own copy, since each may have its own MX hosts. The
// copies are committed together or not at all: a client told 4xx sends
// the message again, and a copy already queued would then go out twice.
func (h *mxHandler) Queue(in *smtpd.Incoming) (string, error) {
	m := h.m
	groups := [][]string{in.Rcpts}
	if h.k.cfg.BackupMX.Primary == "mx" {
		groups = byDomain(in.Rcpts)
	}
	var staged []queue.Envelope
	discard := func() {
		for _, e := range staged {
			m.q.Discard(e.ID)
		}
	}
	for _, g := range groups {
		env := queue.Envelope{From: in.From, Route: routePrimary, Origin: in.Origin, SMTPUTF8: in.SMTPUTF8}
		for _, r := range g {
			env.Rcpts = append(env.Rcpts, &queue.Rcpt{Addr: r})
		}
		data := in.Data
		if len(staged) > 0 {
			rc, err := m.q.Data(staged[0].ID)
			if err != nil {
				discard()
				return "", &queue.TempError{Err: err}
			}
			defer rc.Close()
			data = rc
		}
		added, err := m.q.Stage(env, data, h.k.maxSize())
		if err != nil {
			discard()
			return "", err
		}
		staged = append(staged, added)
	}
	for i := range staged {
		m.q.Commit(staged[i])
		m.met.accepted.WithLabelValues("backup_mx").Inc()
		m.logQueued(&staged[i], "backup_mx")
	}
	return staged[0].ID, nil
}

func byDomain(rcpts []string) [][]string {
	idx := map[string]int{}
	var out [][]string
	for _, r := range rcpts {
		_, d, _ := strings.Cut(r, "@")
		d, _ = smtpd.DomainKey(d)
		i, ok := idx[d]
		if !ok {
			i = len(out)
			idx[d] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], r)
	}
	return out
}

// primaryTarget is what every delivery to the primary MX shares; the
// address is filled in per message.
func primaryTarget(b *config.BackupMX, hostname string) (deliver.Target, error) {
	base := deliver.Target{Role: "primary", TLS: deliver.Opportunistic, HelloName: hostname,
		Timeout: config.Defaults().Mail.Smarthost.Timeout.Duration}
	if b.PrimaryTLS == "required" {
		base.TLS = deliver.StartTLS
		if b.CA != "" {
			pool, err := capool.Load(b.CA)
			if err != nil {
				return base, fmt.Errorf("mail.backup_mx.ca: %w", err)
			}
			base.Roots, base.RootsName = pool, b.CA
		}
	}
	return base, nil
}

// primaryRoute is delivery to the primary MX, with the backup MX's own
// retry policy.
func (m *Mail) primaryRoute() *route {
	rt := &route{name: routePrimary, workers: 8, policy: func() retryPolicy {
		b := m.conf().cfg.BackupMX
		return retryPolicy{b.RetryEvery.Duration, b.GiveUpAfter.Duration}
	}}
	rt.target = func(env *queue.Envelope) (*deliver.Target, error) {
		k := m.conf()
		b, t := k.cfg.BackupMX, k.primary
		if b.Primary != "mx" {
			t.Addr = b.Primary
			return &t, nil
		}
		host, err := m.primaryMX(firstDomain(env))
		if err != nil {
			return nil, err
		}
		t.Addr = net.JoinHostPort(host, "25")
		return &t, nil
	}
	return rt
}

// firstDomain is the domain whose MX hosts get the message, as an A-label
// for DNS.
func firstDomain(env *queue.Envelope) string {
	for _, r := range env.Rcpts {
		if r.Open() {
			_, d, _ := strings.Cut(r.Addr, "@")
			if k, ok := smtpd.DomainKey(d); ok {
				return k
			}
			return d
		}
	}
	return ""
}

// primaryMX picks the best MX of domain that is preferred over this host:
// never ourselves, never an MX with a preference equal to or worse than
// our own (that is how backup MXes loop).
func (m *Mail) primaryMX(domain string) (string, error) {
	hostname := m.conf().hostname
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mxs, err := net.DefaultResolver.LookupMX(ctx, domain)
	if err != nil {
		return "", &deliver.Error{Kind: "connect", Temporary: true, Reason: fmt.Sprintf("MX lookup for %s failed: %v", domain, err)}
	}
	sort.Slice(mxs, func(i, j int) bool { return mxs[i].Pref < mxs[j].Pref })
	own := uint16(65535)
	for _, mx := range mxs {
		if strings.EqualFold(strings.TrimSuffix(mx.Host, "."), hostname) {
			own = min(own, mx.Pref)
		}
	}
	for _, mx := range mxs {
		if mx.Pref < own && !strings.EqualFold(strings.TrimSuffix(mx.Host, "."), hostname) {
			return strings.TrimSuffix(mx.Host, "."), nil
		}
	}
	return "", &deliver.Error{Kind: "connect", Temporary: true,
		Reason: fmt.Sprintf("no MX of %s is preferred over this host (%s); not forwarding to myself", domain, hostname)}
}

// probeLoop checks the primary every probe_every while mail waits for it,
// and flushes that mail as soon as the primary greets again, instead of
// waiting for the next retry. It flushes on the change from silent to
// greeting only: a primary that greets but defers our mail is retried on
// the normal schedule, not hammered every probe. Silent means a probe or a
// delivery attempt found it so since the last probe: an outage shorter
// than probe_every is flushed too, every time.
func (m *Mail) probeLoop() {
	defer m.wg.Done()
	every := m.conf().cfg.BackupMX.ProbeEvery.Duration
	t := time.NewTicker(every)
	defer t.Stop()
	wasDown := true
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		b := m.conf().cfg.BackupMX
		if b.ProbeEvery.Duration != every { // changed by a reload
			every = b.ProbeEvery.Duration
			t.Reset(every)
		}
		waiting := m.waitingFor(routePrimary)
		if len(waiting) == 0 {
			continue
		}
		addr := b.Primary
		if addr == "mx" {
			env, _ := m.q.Get(waiting[0])
			host, err := m.primaryMX(firstDomain(&env))
			if err != nil {
				continue
			}
			addr = net.JoinHostPort(host, "25")
		}
		up := greets(addr)
		if m.primaryDown.Swap(false) {
			wasDown = true
		}
		if up && wasDown {
			m.log.Info("primary answers again: flushing", "event", "mail.primary_up", "primary", addr, "messages", len(waiting))
			m.run.flush(context.Background(), waiting)
		}
		wasDown = !up
	}
}

// waitingFor lists deferred, unheld messages of a route.
func (m *Mail) waitingFor(route string) []string {
	var ids []string
	for _, e := range m.q.List() {
		if e.Route == route && !e.Held && e.Attempts > 0 {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

// greets reports whether an SMTP server at addr sends a 220 greeting.
func greets(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil {
		return false
	}
	c.Write([]byte("QUIT\r\n"))
	return string(buf[:3]) == "220"
}
