package mail

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"bartleby/internal/control"
	"bartleby/internal/mail/maildrop"
	"bartleby/internal/mail/queue"
	"bartleby/internal/mail/sendmail"
)

// IDs are the arguments of the commands that act on messages.
type IDs struct {
	IDs []string `json:"ids"`
}

// Shown is the answer to mail.show.
type Shown struct {
	Envelope queue.Envelope `json:"envelope"`
	Header   string         `json:"header"`
}

// Commands are `bartleby mail …` (and mailq, sendmail -bp, sendmail -q).
func (m *Mail) Commands() map[string]control.Handler {
	return map[string]control.Handler{
		"mail.queue":    func(context.Context, json.RawMessage) (any, error) { return m.q.List(), nil },
		"mail.setaside": func(context.Context, json.RawMessage) (any, error) { return m.setAside(), nil },
		// What sendmail reads from the config file, for the users who may
		// not read it (it holds password hashes): they ask the public socket.
		"mail.sendmail_settings": func(context.Context, json.RawMessage) (any, error) {
			return sendmail.LoadSettings(m.conf().file)
		},
		"mail.flush": func(ctx context.Context, raw json.RawMessage) (any, error) {
			ids, err := parseIDs(raw, false)
			if err != nil {
				return nil, err
			}
			return m.run.flush(ctx, ids), nil
		},
		"mail.show":    m.show,
		"mail.delete":  m.each(m.deleteOne),
		"mail.hold":    m.each(func(id string) Outcome { return m.setHold(id, true) }),
		"mail.release": m.each(func(id string) Outcome { return m.setHold(id, false) }),
		"mail.aliases": func(context.Context, json.RawMessage) (any, error) {
			n, err := m.conf().aliases.Reload()
			if err != nil {
				return nil, err
			}
			return n, nil
		},
	}
}

func parseIDs(raw json.RawMessage, need bool) ([]string, error) {
	var a IDs
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fmt.Errorf("bad arguments: %w", err)
		}
	}
	if need && len(a.IDs) == 0 {
		return nil, errors.New("give at least one queue ID")
	}
	return a.IDs, nil
}

func (m *Mail) each(fn func(id string) Outcome) control.Handler {
	return func(_ context.Context, raw json.RawMessage) (any, error) {
		ids, err := parseIDs(raw, true)
		if err != nil {
			return nil, err
		}
		out := make([]Outcome, len(ids))
		for i, id := range ids {
			out[i] = fn(id)
		}
		return out, nil
	}
}

// setAside lists the drops pickup could not queue.
func (m *Mail) setAside() []maildrop.Aside {
	dir := m.conf().cfg.Maildrop
	list, err := maildrop.ListAside(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		m.log.Error("maildrop", "event", "mail.maildrop_error", "dir", dir, "error", err)
	}
	return list
}

// asideOutcome acts on a drop set aside; ids that are drop names
// (maildrop.ValidName) never look like queue IDs.
func (m *Mail) asideOutcome(name, verb string, act func(dir, name string) error) Outcome {
	if err := act(m.conf().cfg.Maildrop, name); err != nil {
		return Outcome{ID: name, Result: "error", Detail: err.Error()}
	}
	m.log.Info("maildrop: drop set aside "+verb+" by operator", "event", "mail.set_aside_"+verb, "drop", name)
	return Outcome{ID: name, Result: verb}
}

func (m *Mail) deleteOne(id string) Outcome {
	if maildrop.ValidName(id) {
		return m.asideOutcome(id, "deleted", maildrop.Discard)
	}
	if err := m.q.Remove(id); err != nil {
		return Outcome{ID: id, Result: "error", Detail: err.Error()}
	}
	m.log.Info("message deleted by operator", "event", "mail.deleted", "id", id)
	return Outcome{ID: id, Result: "deleted"}
}

func (m *Mail) setHold(id string, hold bool) Outcome {
	if maildrop.ValidName(id) {
		if hold {
			return Outcome{ID: id, Result: "error", Detail: "a drop set aside is not attempted until released"}
		}
		return m.asideOutcome(id, "released", maildrop.Release)
	}
	_, err := m.q.Update(id, func(e *queue.Envelope) { e.Held = hold })
	if err != nil {
		return Outcome{ID: id, Result: "error", Detail: err.Error()}
	}
	if !hold {
		m.run.poke()
		return Outcome{ID: id, Result: "released"}
	}
	return Outcome{ID: id, Result: "held"}
}

// maxShownHeader bounds the header returned by mail.show.
const maxShownHeader = 64 << 10

func (m *Mail) show(_ context.Context, raw json.RawMessage) (any, error) {
	ids, err := parseIDs(raw, true)
	if err != nil {
		return nil, err
	}
	return m.shown(ids[0])
}

// shown is a queued message's envelope and header (at most maxShownHeader).
func (m *Mail) shown(id string) (Shown, error) {
	env, ok := m.q.Get(id)
	if !ok {
		return Shown{}, fmt.Errorf("%s: %w", id, queue.ErrNotFound)
	}
	data, err := m.q.Data(env.ID)
	if err != nil {
		return Shown{}, err
	}
	defer data.Close()
	var hdr strings.Builder
	br := bufio.NewReader(io.LimitReader(data, maxShownHeader))
	for {
		line, err := br.ReadString('\n')
		if strings.TrimRight(line, "\r\n") == "" {
			break
		}
		hdr.WriteString(strings.TrimRight(line, "\r\n") + "\n")
		if err != nil {
			break
		}
	}
	return Shown{Envelope: env, Header: hdr.String()}, nil
}
