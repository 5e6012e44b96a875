package main

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"time"

	"bartleby/internal/mail/maildrop"
	"bartleby/internal/mail/queue"
)

// writePostfixQueue prints the queue as Postfix's mailq does with long
// queue IDs (bartleby's are 18 characters), because check_mailq -M postfix,
// munin plugins and admins' scripts parse it: a header, per message a line
// "ID[!] SIZE ARRIVAL SENDER" ('!' held), each deferral reason in
// parentheses before the recipients it applies to, a blank line between
// messages, and "-- N Kbytes in M Requests." last (or "Mail queue is
// empty"). Drops set aside from the maildrop come first,
// as Postfix lists its maildrop first, and count as requests: they are
// mail that is not moving.
//
// One line is Sendmail's: "Total requests: M", indented, before the
// trailer, so that check_mailq -M sendmail (which finds no count in
// Postfix's format and would call the queue empty) counts right too.
func writePostfixQueue(w io.Writer, list []queue.Envelope, aside []maildrop.Aside) {
	n := len(list) + len(aside)
	if n == 0 {
		fmt.Fprintln(w, "Mail queue is empty")
		return
	}
	fmt.Fprintf(w, postfixColumns, "----Queue ID-----", "--Size--", "---Arrival Time----", "--Sender/Recipient------")
	var total int64
	first := true
	entry := func(id, status string, size int64, arrived time.Time, sender string) {
		if !first {
			fmt.Fprintln(w)
		}
		first = false
		total += size
		fmt.Fprintf(w, "%-17s %8d %19.19s %s\n", id+status, size, arrived.Local().Format("Mon Jan _2 15:04:05"), sender)
	}
	for _, a := range aside {
		entry(a.Name, "!", a.Size, a.Time, fmt.Sprintf("(set aside from the maildrop, sender UID %d)", a.UID))
		postfixReason(w, "not queued: "+a.Reason+"; bartleby mail release "+a.Name+" once fixed, or bartleby mail delete "+a.Name)
	}
	for _, e := range list {
		status := ""
		if e.Held {
			status = "!"
		}
		entry(e.ID, status, e.Size, e.Received, postfixSender(e.From))
		reason := ""
		for _, r := range e.Rcpts {
			if !r.Open() {
				continue
			}
			if r.Error != reason {
				reason = r.Error
				postfixReason(w, cmp.Or(reason, "reason unavailable"))
			}
			fmt.Fprintf(w, postfixColumns, "", "", "", r.Addr)
		}
	}
	fmt.Fprintf(w, "\n\t\tTotal requests: %d\n", n)
	plural := "s"
	if n == 1 {
		plural = ""
	}
	fmt.Fprintf(w, "-- %d Kbytes in %d Request%s.\n", total/1024, n, plural)
}

// postfixColumns is Postfix's layout with long queue IDs: recipients start
// at column 48.
const postfixColumns = "%-17s %8s %-19s %s\n"

// postfixSender is the sender as Postfix shows it: MAILER-DAEMON for the
// null sender of bounces.
func postfixSender(from string) string {
	if from == "" {
		return "MAILER-DAEMON"
	}
	return from
}

// postfixReason prints a reason right-aligned to column 78, on one line.
func postfixReason(w io.Writer, reason string) {
	reason = strings.Join(strings.Fields(reason), " ")
	fmt.Fprintf(w, "%*s(%s)\n", max(0, 76-len(reason)), "", reason)
}
