package smtpd

import (
	"fmt"

	"github.com/emersion/go-smtp"
)

// maxRefusals is Postfix's smtpd_hard_error_limit: a client refused this
// often without delivering a message is probing for addresses or
// confused, and holds a slot for nothing; it gets 421 and the session
// ends.
const maxRefusals = 20

// refused counts a refusal; at maxRefusals the reply is 421 and the
// session ends. Only remote clients of a Limit listener are ended (see
// kick): the host's own programs are trusted.
func (s *session) refused(err error) error {
	s.refusal++
	if s.refusal < maxRefusals || !kick(s.conn.Conn()) {
		return err
	}
	s.ended = true
	s.cfg.Log.Warn("too many refused commands: session ended", "event", "mail.too_many_errors", "listener", s.cfg.Name, "origin", s.origin())
	return errEnded
}

var errEnded = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "too many errors, closing"}

// overshootLimit is Postfix's smtpd_recipient_overshoot_limit: a client
// that pipelines all its recipients gets 452 for those past
// MaxRecipients and sends them later, as RFC 5321 asks; that is no
// error, until it goes on for this many.
const overshootLimit = 1000

// overshot answers a recipient past MaxRecipients.
func (s *session) overshot() error {
	err := &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 5, 3},
		Message: fmt.Sprintf("too many recipients (at most %d per message); send the rest in another message", s.cfg.MaxRecipients)}
	if s.overshoot++; s.overshoot <= overshootLimit {
		return err
	}
	return s.refused(err)
}
