// Package dsn writes delivery status notifications (RFC 3464): the bounce
// a sender gets when mail could not be delivered.
package dsn

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"bartleby/internal/mail/message"
)

// Failed is one recipient that could not be delivered.
type Failed struct {
	Addr   string // final recipient
	Orig   string // as submitted, when different
	Reason string // the last error
	Code   int    // SMTP reply code, 0 when none
}

// Report is what a DSN says.
type Report struct {
	Hostname  string    // reporting MTA
	To        string    // the original sender
	MessageID string    // queue ID of the original
	Arrival   time.Time // when the original was queued
	Failed    []Failed
	Original  io.Reader // the original message; its header is attached
}

// maxOriginalHeader bounds how much of the original's header is attached.
const maxOriginalHeader = 64 << 10

// Build writes the DSN message.
func Build(r *Report, now time.Time) []byte {
	var rnd [8]byte
	rand.Read(rnd[:])
	boundary := "bartleby-" + hex.EncodeToString(rnd[:])
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	w("From: Mail Delivery System <MAILER-DAEMON@%s>", r.Hostname)
	w("To: <%s>", r.To)
	w("Subject: Undelivered Mail Returned to Sender")
	w("Date: %s", now.Format(time.RFC1123Z))
	w("Message-ID: %s", message.NewMessageID(r.Hostname, now))
	w("Auto-Submitted: auto-replied")
	w("MIME-Version: 1.0")
	w("Content-Type: multipart/report; report-type=delivery-status; boundary=\"%s\"", boundary)
	w("")
	w("--%s", boundary)
	w("Content-Type: text/plain; charset=utf-8")
	w("")
	w("This is the mail system at %s.", r.Hostname)
	w("")
	w("Your message (queue ID %s, received %s) could not be delivered", r.MessageID, r.Arrival.Format(time.RFC1123Z))
	w("to the following recipient(s):")
	w("")
	for _, f := range r.Failed {
		w("<%s>: %s", f.Addr, wrap(f.Reason))
	}
	w("")
	w("--%s", boundary)
	w("Content-Type: message/delivery-status")
	w("")
	w("Reporting-MTA: dns; %s", r.Hostname)
	w("X-Bartleby-Queue-ID: %s", r.MessageID)
	w("Arrival-Date: %s", r.Arrival.Format(time.RFC1123Z))
	for _, f := range r.Failed {
		w("")
		if f.Orig != "" {
			w("Original-Recipient: rfc822; %s", f.Orig)
		}
		w("Final-Recipient: rfc822; %s", f.Addr)
		w("Action: failed")
		w("Status: %s", status(f.Code))
		if f.Code != 0 {
			w("Diagnostic-Code: smtp; %s", oneLine(f.Reason))
		}
		w("Last-Attempt-Date: %s", now.Format(time.RFC1123Z))
	}
	w("")
	w("--%s", boundary)
	w("Content-Type: text/rfc822-headers")
	w("")
	b.Write(originalHeader(r.Original))
	w("--%s--", boundary)
	return b.Bytes()
}

// status maps a reply code to an RFC 3463 status: 5.0.0 for a permanent
// reply, 4.4.7 (delivery time expired) for giving up on temporary ones.
func status(code int) string {
	if code/100 == 5 {
		return "5.0.0"
	}
	return "4.4.7"
}

// originalHeader returns the original message's header block, bounded.
func originalHeader(r io.Reader) []byte {
	if r == nil {
		return nil
	}
	br := bufio.NewReader(io.LimitReader(r, maxOriginalHeader))
	var out bytes.Buffer
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
		out.Write(line)
		if err != nil {
			out.WriteString("\r\n")
			break
		}
	}
	return out.Bytes()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// wrap folds a long reason for the human-readable part.
func wrap(s string) string {
	words := strings.Fields(s)
	var b strings.Builder
	n := 0
	for _, w := range words {
		if n > 0 && n+len(w) > 72 {
			b.WriteString("\r\n    ")
			n = 0
		} else if n > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
		n += len(w) + 1
	}
	return b.String()
}
