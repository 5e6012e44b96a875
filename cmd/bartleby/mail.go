package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"bartleby/internal/mail"
	"bartleby/internal/mail/maildrop"
	"bartleby/internal/mail/queue"
)

func init() {
	commands = append(commands, mailCmd, sendmailCmd)
}

func mailCmd() *cobra.Command {
	c := &cobra.Command{Use: "mail", Short: "Look at and act on the mail queue of the running daemon"}
	var asJSON bool
	q := &cobra.Command{Use: "queue", Short: "List the queue (like mailq)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return printQueue(cmd.OutOrStdout(), asJSON) }}
	q.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.AddCommand(q,
		&cobra.Command{Use: "flush [ID…]", Short: "Attempt delivery now (all unheld messages without IDs) and report what happened",
			RunE: func(cmd *cobra.Command, ids []string) error { return flushQueue(cmd.OutOrStdout(), ids) }},
		&cobra.Command{Use: "show ID", Short: "Show a message's envelope, recipients' states and header", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, ids []string) error { return showMessage(cmd.OutOrStdout(), ids[0]) }},
		idsCmd("delete", "Delete messages from the queue (no bounce is sent)"),
		idsCmd("hold", "Keep messages in the queue without attempting them"),
		idsCmd("release", "Let held messages be attempted again"),
	)
	return c
}

func idsCmd(verb, short string) *cobra.Command {
	return &cobra.Command{Use: verb + " ID…", Short: short, Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			var out []mail.Outcome
			if err := call("mail."+verb, mail.IDs{IDs: ids}, &out); err != nil {
				return err
			}
			return printOutcomes(cmd.OutOrStdout(), out)
		}}
}

// sendmailHelp is the sendmail(8), mailq(8) and newaliases(8) man page's
// text: the binary answers to those names (/usr/sbin/sendmail is a link),
// so scripts and cron find what they expect.
const sendmailHelp = `Submit the message on standard input for delivery, with the classic
sendmail flags, as cron, mailx, logwatch and scripts call it. The binary
answers as sendmail, mailq (= -bp) and newaliases (= -bi) when called by
those names; /usr/sbin/sendmail, /usr/lib/sendmail, /usr/bin/mailq and
/usr/bin/newaliases are links to it.

The message goes over SMTP to the first mail.submit address of the config
($BARTLEBY_CONFIG, else /etc/bartleby/bartleby.toml); the daemon answers
only once the message is on disk. If no daemon answers, it is written to
the maildrop (state_dir/maildrop: root only) and queued when the daemon
starts. A user who may not read the config asks the daemon's public socket
(state_dir/public.sock at the default /var/lib/bartleby) for its
settings; mailq works for every user the same way.

Flags:
  -t               recipients from To, Cc and Bcc too; Bcc removed
  -i, -oi          a line with a single "." does not end the message
  -f ADDR, -r ADDR envelope sender (default: the user's name @qualify_domain)
  -F NAME          full name for the added From field
  -bs              SMTP on standard input and output
  -bp              list the queue in Postfix's mailq format
  -q, -q30m        flush the queue now (root or the bartleby group)
  -bi              check the aliases file and have the daemon re-read it
  -v               say where the message went
  -o..., -B, -N, -R, -V, -X, -m  accepted and ignored, as Postfix does

Exit status (sysexits.h): 0 the message is on disk and will not be lost;
64 usage; 65 a bad message (header, recipient, over max_size); 67 the
sender cannot be told; 70 internal error; 75 temporary failure (nothing
accepted it: try again).`

// sendmailCmd is `bartleby sendmail …`: the classic flags, unparsed by cobra.
func sendmailCmd() *cobra.Command {
	return &cobra.Command{Use: "sendmail [flags] [recipient…]", Short: "Send the message on stdin (sendmail's flags: -t -i -f -F -bs -bp -q -v)",
		Long:               sendmailHelp,
		DisableFlagParsing: true,
		Run: func(cmd *cobra.Command, args []string) {
			// sendmail has reported its errors itself; only the status is left.
			os.Exit(runSendmail(args))
		}}
}

func printQueue(w io.Writer, asJSON bool) error {
	var list []queue.Envelope
	if err := call("mail.queue", nil, &list); err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	aside, err := setAside()
	if err != nil {
		return err
	}
	defer printAside(w, aside)
	if len(list) == 0 {
		fmt.Fprintln(w, "Mail queue is empty")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAGE\tSIZE\tATTEMPTS\tSTATE\tSENDER/RECIPIENTS")
	var total int64
	for _, e := range list {
		total += e.Size
		state := string(e.State())
		if e.Held {
			state = "held"
		}
		from := e.From
		if from == "" {
			from = "<>"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", e.ID, age(e.Received), e.Size, e.Attempts, state, from)
		for _, r := range e.Rcpts {
			if !r.Open() {
				continue
			}
			fmt.Fprintf(tw, "\t\t\t\t\t  %s\n", r.Addr)
			if r.Error != "" {
				fmt.Fprintf(tw, "\t\t\t\t\t    (%s)\n", r.Error)
			}
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "-- %d KB in %d message(s).\n", (total+1023)/1024, len(list))
	return nil
}

// printMailq is mailq and sendmail -bp: the queue in Postfix's format.
// Every local user may run it, as with Postfix.
func printMailq(w io.Writer) error {
	c, err := dialAsUser()
	if err != nil {
		return err
	}
	defer c.Close()
	var list []queue.Envelope
	if err := c.Call("mail.queue", nil, &list); err != nil {
		return err
	}
	var aside []maildrop.Aside
	if err := c.Call("mail.setaside", nil, &aside); err != nil {
		return err
	}
	writePostfixQueue(w, list, aside)
	return nil
}

func setAside() ([]maildrop.Aside, error) {
	var aside []maildrop.Aside
	err := call("mail.setaside", nil, &aside)
	return aside, err
}

// printAside lists the maildrop's drops that could not be queued: they
// are not in the queue, but mail an admin must not miss.
func printAside(w io.Writer, aside []maildrop.Aside) {
	if len(aside) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%d message(s) set aside from the maildrop, not queued (bartleby mail release NAME once fixed, or mail delete NAME):\n", len(aside))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tAGE\tSIZE\tUID\tSTATE\tREASON")
	for _, a := range aside {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\tset aside\t%s\n", a.Name, age(a.Time), a.Size, a.UID, a.Reason)
	}
	tw.Flush()
}

func age(t time.Time) string {
	d := time.Since(t).Round(time.Second)
	if d >= 48*time.Hour {
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	return d.String()
}

func flushQueue(w io.Writer, ids []string) error {
	var out []mail.Outcome
	if err := call("mail.flush", mail.IDs{IDs: ids}, &out); err != nil {
		return err
	}
	if len(out) == 0 {
		fmt.Fprintln(w, "Mail queue is empty: nothing to flush")
		return nil
	}
	return printOutcomes(w, out)
}

func printOutcomes(w io.Writer, out []mail.Outcome) error {
	counts := map[string]int{}
	failed := false
	for _, o := range out {
		counts[o.Result]++
		failed = failed || o.Result == "error"
		line := o.ID + ": " + o.Result
		if o.Detail != "" {
			line += " (" + o.Detail + ")"
		}
		fmt.Fprintln(w, line)
	}
	if len(out) > 1 {
		var parts []string
		for _, r := range []string{"delivered", "partial", "deferred", "bounced", "held", "released", "deleted", "gone", "pending", "error"} {
			if counts[r] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[r], r))
			}
		}
		fmt.Fprintln(w, "--", strings.Join(parts, ", "))
	}
	if failed {
		return exitError{exitFailure, fmt.Errorf("some messages could not be changed")}
	}
	return nil
}

func showMessage(w io.Writer, id string) error {
	var s mail.Shown
	if err := call("mail.show", mail.IDs{IDs: []string{id}}, &s); err != nil {
		return err
	}
	e := s.Envelope
	from := e.From
	if from == "" {
		from = "<> (a bounce)"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "ID:\t%s\n", e.ID)
	fmt.Fprintf(tw, "From:\t%s\n", from)
	fmt.Fprintf(tw, "Received:\t%s (%s ago) via %s\n", e.Received.Local().Format(time.RFC1123), age(e.Received), e.Origin)
	fmt.Fprintf(tw, "Size:\t%d bytes\n", e.Size)
	fmt.Fprintf(tw, "Route:\t%s\n", e.Route)
	fmt.Fprintf(tw, "Attempts:\t%d\n", e.Attempts)
	if !e.NextAttempt.IsZero() {
		fmt.Fprintf(tw, "Next attempt:\t%s\n", e.NextAttempt.Local().Format(time.RFC1123))
	}
	if e.Held {
		fmt.Fprintf(tw, "Held:\tyes (bartleby mail release %s)\n", e.ID)
	}
	for _, r := range e.Rcpts {
		line := fmt.Sprintf("To:\t%s\t%s", r.Addr, r.State)
		if r.Orig != "" {
			line += " (alias of " + r.Orig + ")"
		}
		if r.Error != "" {
			line += ": " + r.Error
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%s", s.Header)
	return nil
}
