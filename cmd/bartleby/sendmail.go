package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"bartleby/internal/config"
	"bartleby/internal/mail/sendmail"
)

// The binary answers as sendmail and mailq (symlinks), and as
// `bartleby sendmail …`.
func init() {
	personalities["sendmail"] = runSendmail
	personalities["mailq"] = func(args []string) int { return runSendmail(append([]string{"-bp"}, args...)) }
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
	}
	s, err := sendmail.LoadSettings(g.config)
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
