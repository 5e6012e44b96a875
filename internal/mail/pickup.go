package mail

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"bartleby/internal/mail/aliases"
	"bartleby/internal/mail/maildrop"
	"bartleby/internal/mail/message"
	"bartleby/internal/mail/queue"
	"bartleby/internal/mail/smtpd"
)

// pickupEvery is how often the maildrop is looked at while running; drops
// happen only when `sendmail` could not reach the submission listener.
const pickupEvery = 5 * time.Second

func (m *Mail) pickupLoop() {
	defer m.wg.Done()
	// The maildrop cannot move without a restart (Reload refuses it).
	dir := m.conf().cfg.Maildrop
	if err := os.MkdirAll(dir, 0o700); err != nil {
		m.log.Error("maildrop", "event", "mail.maildrop_error", "dir", dir, "error", err)
	}
	t := time.NewTicker(pickupEvery)
	defer t.Stop()
	for {
		m.pickup()
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
	}
}

// pickup queues every message in the maildrop. A drop that cannot be
// queued is set aside (maildrop.SetAside), logged at ERROR and shown by
// mailq, the queue page and the admin home page until an admin releases
// or deletes it; one that meets a temporary failure is left for the next
// round.
func (m *Mail) pickup() {
	k := m.conf()
	names, err := maildrop.List(k.cfg.Maildrop)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			m.log.Error("maildrop", "event", "mail.maildrop_error", "dir", k.cfg.Maildrop, "error", err)
		}
		return
	}
	if gone, _ := maildrop.RemoveStale(k.cfg.Maildrop, time.Now()); len(gone) > 0 {
		m.log.Warn("maildrop: removed what sendmail left half written (it was killed, and exited non-zero)", "event", "mail.maildrop_stale", "files", gone)
	}
	for _, name := range names {
		err := m.pickupOne(k, name)
		var te *queue.TempError
		switch {
		case err == nil:
			os.Remove(filepath.Join(k.cfg.Maildrop, name))
		case errors.As(err, &te):
			m.log.Warn("maildrop: will retry", "event", "mail.maildrop_retry", "file", name, "error", err)
			return
		default:
			m.met.pickupErrs.Inc()
			m.log.Error("maildrop: message set aside, not queued: `bartleby mail release` it once the cause is fixed, or `bartleby mail delete` it", "event", "mail.set_aside",
				"drop", name, "error", err)
			if err := maildrop.SetAside(k.cfg.Maildrop, name, err.Error()); err != nil {
				m.log.Error("maildrop", "event", "mail.maildrop_error", "error", err)
			}
		}
	}
}

func (m *Mail) pickupOne(k *conf, name string) error {
	d, err := maildrop.Open(k.cfg.Maildrop, name, k.maxSize())
	if err != nil {
		return err
	}
	defer d.Close()
	if len(d.Rcpts) == 0 {
		return errors.New("no recipients")
	}
	if err := checkDropAddresses(&d.Envelope); err != nil {
		return err
	}
	env, err := m.submit(k, d.From, d.Rcpts, false, fmt.Sprintf("maildrop uid %d", d.UID), message.LimitHops(message.NormalizeLong(d.Data)))
	if err != nil {
		return err
	}
	m.met.accepted.WithLabelValues("maildrop").Inc()
	m.logQueued(&env, "maildrop", "uid", d.UID)
	return nil
}

// checkDropAddresses holds a drop's envelope to what SMTP would accept:
// anyone who may write the maildrop writes the envelope too, and a sender
// with a line break or a terminal escape in it would reach the smarthost
// dialogue, a DSN's header, the logs and `mail show`.
func checkDropAddresses(env *maildrop.Envelope) error {
	addrs := env.Rcpts
	if env.From != "" {
		addrs = append([]string{env.From}, addrs...)
	}
	for _, a := range addrs {
		if err := aliases.CheckAddress(a); err != nil || !smtpd.Printable(a) {
			return fmt.Errorf("envelope: %q is not a valid address", a)
		}
	}
	return nil
}
