package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"bartleby/internal/config"
	"bartleby/internal/control"
	"bartleby/internal/mail"
	"bartleby/internal/mail/sendmail"
)

// The binary answers as sendmail and mailq (symlinks), and as
// `bartleby sendmail …`.
func init() {
	personalities["sendmail"] = runSendmail
	personalities["mailq"] = func(args []string) int { return runSendmail(append([]string{"-bp"}, args...)) }
	personalities["newaliases"] = func(args []string) int { return runSendmail(append([]string{"-bi"}, args...)) }
}

// configPath is where sendmail finds the config: $BARTLEBY_CONFIG or the
// default path (sendmail's own flags leave no room for -c).
func configPath() string {
	if p := os.Getenv("BARTLEBY_CONFIG"); p != "" {
		return p
	}
	return config.DefaultPath
}

func runSendmail(args []string) int {
	o, err := sendmail.Parse(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sendmail:", err)
		return exitUsage
	}
	g.config = configPath()
	switch o.Mode {
	case sendmail.List:
		return cliExit(printMailq(os.Stdout))
	case sendmail.Flush:
		return cliExit(flushQueue(os.Stdout, nil))
	case sendmail.Newaliases:
		return newaliases(os.Stdout)
	}
	s, err := loadSendmailSettings()
	if err != nil {
		fmt.Fprintf(os.Stderr, "sendmail: config %s: %v\n", g.config, err)
		return exitTempFail
	}
	if o.Mode == sendmail.SMTP {
		return sendmailExit(sendmail.ServeSMTP(s, os.Stdin, os.Stdout))
	}
	p, err := sendmail.Prepare(o, s, os.Stdin, time.Now())
	if err != nil {
		return sendmailExit(err)
	}
	where, err := sendmail.Submit(p, s)
	if err != nil {
		return sendmailExit(err)
	}
	if o.Verbose {
		fmt.Fprintf(os.Stderr, "sendmail: %d recipient(s): %s\n", len(p.Rcpts), where)
	}
	return exitOK
}

func sendmailExit(err error) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(os.Stderr, "sendmail:", err)
	var se *sendmail.Error
	if errors.As(err, &se) {
		return se.Code
	}
	return exitTempFail
}

func cliExit(err error) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(os.Stderr, "bartleby:", err)
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return exitTempFail
}

// newaliases checks the config and its aliases file as `check` does (the
// mail part's check reads the file), then
// has the running daemon re-read the file. bartleby keeps no alias
// database: the file itself is what it reads.
func newaliases(w io.Writer) int {
	cfg, err := config.Load(g.config, mail.Check)
	if err != nil {
		return cliExit(err)
	}
	if cfg.Mail == nil || cfg.Mail.Aliases == "" {
		fmt.Fprintf(w, "newaliases: %s sets no mail.aliases; nothing to do\n", cfg.File)
		return exitOK
	}
	var n int
	err = call("mail.aliases", nil, &n)
	switch {
	case errors.Is(err, control.ErrNotRunning):
		fmt.Fprintf(w, "newaliases: %s is valid; bartleby is not running and reads it when it starts\n", cfg.Mail.Aliases)
		return exitOK
	case err != nil:
		return cliExit(err)
	}
	fmt.Fprintf(w, "newaliases: %s: %d aliases, re-read by the running daemon\n", cfg.Mail.Aliases, n)
	return exitOK
}
