package mail

import (
	"testing"

	"bartleby/internal/mail/maildrop"
)

// TestCheckDropAddresses: whoever can write the maildrop writes the
// envelope; it gets no further than SMTP would let it.
func TestCheckDropAddresses(t *testing.T) {
	for _, env := range []maildrop.Envelope{
		{From: "", Rcpts: []string{"root", "ops@example.net"}},
		{From: "cron@host.example.org", Rcpts: []string{"ü@bücher.example"}},
	} {
		if err := checkDropAddresses(&env); err != nil {
			t.Errorf("%+v: %v", env, err)
		}
	}
	for _, env := range []maildrop.Envelope{
		{From: "a@b.example\r\nRCPT TO:<victim@evil.example>", Rcpts: []string{"root"}},
		{From: "root", Rcpts: []string{"ops@example.net", "x\r\nBcc: victim@evil.example"}},
		{From: "root\u009b2J", Rcpts: []string{"root"}},
		{From: "root", Rcpts: []string{"a b@example.net"}},
	} {
		if err := checkDropAddresses(&env); err == nil {
			t.Errorf("%+v accepted", env)
		}
	}
}
