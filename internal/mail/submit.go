package mail

import (
	"io"
	"strings"

	"github.com/emersion/go-smtp"

	"bartleby/internal/mail/aliases"
	"bartleby/internal/mail/queue"
	"bartleby/internal/mail/smtpd"
)

// submitHandler takes local submissions: recipients are qualified and
// expanded through the aliases, then everything goes to the smarthost.
type submitHandler struct{ m *Mail }

func (h submitHandler) Rcpt(addr string) error {
	if _, err := h.m.expand(addr); err != nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "aliases: " + err.Error()}
	}
	return nil
}

func (h submitHandler) Queue(in *smtpd.Incoming) (string, error) {
	env, err := h.m.submit(in.From, in.Rcpts, in.SMTPUTF8, in.Origin, in.Data)
	if err == nil {
		h.m.met.accepted.WithLabelValues("submit").Inc()
	}
	return env.ID, err
}

// expand qualifies a recipient and runs it through the aliases.
func (m *Mail) expand(addr string) ([]*queue.Rcpt, error) {
	t, err := m.aliases.Table()
	if err != nil {
		m.log.Warn("aliases", "error", err)
	}
	list, err := t.Expand(addr, m.cfg.QualifyDomain)
	if err != nil {
		return nil, err
	}
	orig := aliases.Qualify(addr, m.cfg.QualifyDomain)
	out := make([]*queue.Rcpt, len(list))
	for i, a := range list {
		out[i] = &queue.Rcpt{Addr: a}
		if !strings.EqualFold(a, orig) {
			out[i].Orig = orig
		}
	}
	return out, nil
}

// submit queues a local message for the smarthost.
func (m *Mail) submit(from string, rcpts []string, utf8 bool, origin string, data io.Reader) (queue.Envelope, error) {
	env := queue.Envelope{From: aliases.Qualify(from, m.cfg.QualifyDomain), Route: routeSmarthost, Origin: origin, SMTPUTF8: utf8}
	seen := map[string]bool{}
	for _, r := range rcpts {
		list, err := m.expand(r)
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
	return m.q.Add(env, data, m.maxSize())
}
