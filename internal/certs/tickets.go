package certs

import (
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"time"
)

// Session ticket keys are replaced every ticketRotation; a ticket stays
// valid while its key is among the keptTicketKeys newest.
const (
	ticketRotation = 12 * time.Hour
	keptTicketKeys = 3
)

// ticketKeys encrypts the session tickets of one TLSConfig. The keys live
// in a private tls.Config so that the config handed out, and its clones,
// reach them through WrapSession/UnwrapSession.
type ticketKeys struct {
	holder *tls.Config
	keys   [][32]byte // newest first
}

func (m *Manager) newTicketKeys() (*ticketKeys, error) {
	tk := &ticketKeys{holder: &tls.Config{}}
	if err := tk.rotate(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.tickets = append(m.tickets, tk)
	m.mu.Unlock()
	return tk, nil
}

// rotate puts a fresh key first and drops the oldest beyond keptTicketKeys.
func (tk *ticketKeys) rotate() error {
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		return fmt.Errorf("session ticket key: %w", err)
	}
	tk.keys = append([][32]byte{k}, tk.keys...)
	if len(tk.keys) > keptTicketKeys {
		tk.keys = tk.keys[:keptTicketKeys]
	}
	tk.holder.SetSessionTicketKeys(tk.keys)
	return nil
}

func (tk *ticketKeys) wrap(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
	return tk.holder.EncryptTicket(cs, ss)
}

func (tk *ticketKeys) unwrap(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
	return tk.holder.DecryptTicket(identity, cs)
}

// rotateTickets runs until Close.
func (m *Manager) rotateTickets() {
	defer m.wg.Done()
	t := time.NewTicker(ticketRotation)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.rotateAll()
		}
	}
}

func (m *Manager) rotateAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, tk := range m.tickets {
		if err := tk.rotate(); err != nil {
			m.log.Error("rotating session ticket keys", "event", "cert.ticket_error", "err", err)
		}
	}
}
