package mail

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"bartleby/internal/mail/aliases"
	"bartleby/internal/mail/message"
	"bartleby/internal/mail/queue"
	"bartleby/internal/mail/smtpd"
)

// submitHandler takes local submissions: recipients are qualified and
// expanded through the aliases, then everything goes to the smarthost.
type submitHandler struct {
	m *Mail
	k *conf
}

func (h submitHandler) Rcpt(addr string) error {
	if _, err := h.k.expand(addr, h.m.log); err != nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "aliases: " + err.Error()}
	}
	return nil
}

func (h submitHandler) Queue(in *smtpd.Incoming) (string, error) {
	env, err := h.m.submit(h.k, in.From, in.Rcpts, in.SMTPUTF8, in.Origin, in.Data)
	if err == nil {
		h.m.met.accepted.WithLabelValues("submit").Inc()
		h.m.logQueued(&env, "submit")
	}
	return env.ID, err
}

// logQueued logs a message entering the queue with what Postfix's
// cleanup and qmgr log: queue ID, Message-ID, size, sender, recipients.
func (m *Mail) logQueued(env *queue.Envelope, via string, extra ...any) {
	rcpts := make([]string, len(env.Rcpts))
	for i, r := range env.Rcpts {
		rcpts[i] = r.Addr
	}
	m.log.Info("message queued", append([]any{"event", "mail.queued", "id", env.ID, "message_id", env.MessageID, "size", env.Size,
		"from", env.From, "to", rcpts, "nrcpt", len(rcpts), "via", via, "origin", env.Origin}, extra...)...)
}

// expand qualifies a recipient and runs it through the aliases.
func (k *conf) expand(addr string, log *slog.Logger) ([]*queue.Rcpt, error) {
	t, err := k.aliases.Table()
	if err != nil {
		log.Warn("aliases", "event", "mail.aliases_error", "error", err)
	}
	list, err := t.Expand(addr, k.cfg.QualifyDomain)
	if err != nil {
		return nil, err
	}
	orig := aliases.Qualify(addr, k.cfg.QualifyDomain)
	out := make([]*queue.Rcpt, len(list))
	for i, a := range list {
		out[i] = &queue.Rcpt{Addr: a}
		if !strings.EqualFold(a, orig) {
			out[i].Orig = orig
		}
	}
	return out, nil
}

// submit queues a local message for the smarthost, its header completed
// and qualified as Postfix does for local mail (message.Localize).
func (m *Mail) submit(k *conf, from string, rcpts []string, utf8 bool, origin string, data io.Reader) (queue.Envelope, error) {
	env := queue.Envelope{From: aliases.Qualify(from, k.cfg.QualifyDomain), Route: routeSmarthost, Origin: origin, SMTPUTF8: utf8}
	seen := map[string]bool{}
	for _, r := range rcpts {
		list, err := k.expand(r, m.log)
		if err != nil {
			return env, &queue.TempError{Err: err}
		}
		for _, x := range list {
			if k := strings.ToLower(x.Addr); !seen[k] {
				seen[k] = true
				env.Rcpts = append(env.Rcpts, x)
			}
		}
	}
	data = message.Localize(data, message.Local{From: env.From, QualifyDomain: k.cfg.QualifyDomain, Hostname: k.hostname, Now: time.Now()})
	watch := message.WatchLines(data)
	env, err := m.q.Stage(env, watch, k.maxSize())
	switch {
	case err != nil:
		return env, err
	case watch.Long():
		return m.reencode(env)
	}
	m.q.Commit(env)
	return env, nil
}

// reencode replaces a staged message that has lines over 998 octets by
// its RFC 5322-clean form (message.FixLongLines) before it can be
// attempted and before the submitter is told it is queued. Such messages
// are rare, so the second write and holding the message in memory once
// cost nothing in the common case.
func (m *Mail) reencode(orig queue.Envelope) (queue.Envelope, error) {
	rc, err := m.q.Data(orig.ID)
	if err != nil {
		m.q.Discard(orig.ID)
		return orig, &queue.TempError{Err: err}
	}
	raw, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		m.q.Discard(orig.ID)
		return orig, &queue.TempError{Err: err}
	}
	fixed := message.FixLongLines(raw)
	env := orig.Clone()
	env.ID, env.Size = "", 0
	// Quoted-printable may grow the message past max_size; it was within
	// the limit as submitted, so it is accepted as it is now.
	env, err = m.q.Add(env, bytes.NewReader(fixed), int64(len(fixed)))
	if rerr := m.q.Discard(orig.ID); err == nil && rerr != nil {
		m.log.Error("message re-encoded but the original not removed: it may be delivered twice", "event", "mail.reencode_failed", "id", orig.ID, "error", rerr)
	}
	if err == nil {
		m.log.Info("lines over 998 octets re-encoded", "event", "mail.reencoded", "id", env.ID, "was", orig.ID)
	}
	return env, err
}
