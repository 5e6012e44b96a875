package main

import (
	"os"
	"strings"

	"github.com/spf13/cobra"

	"bartleby/internal/watch/report"
)

// asNagiosPlugin makes every error of cmd — a bad flag or argument, a
// missing file, no servers configured — a plugin answer when --nagios is on
// the command line: a "SERVICE UNKNOWN - why" line on stdout and exit 3, as
// Nagios reads nothing else. Without --nagios errors stay ordinary.
func asNagiosPlugin(cmd *cobra.Command, service string) *cobra.Command {
	unknown := func(c *cobra.Command, err error) error {
		if err == nil || !nagiosRequested(os.Args[1:]) {
			return err
		}
		return exitError{report.NagiosUnknown(c.OutOrStdout(), service, err), err}
	}
	args, run := cmd.Args, cmd.RunE
	cmd.Args = func(c *cobra.Command, a []string) error {
		if args == nil {
			return nil
		}
		return unknown(c, args(c, a))
	}
	cmd.RunE = func(c *cobra.Command, a []string) error { return unknown(c, run(c, a)) }
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return unknown(c, err) })
	return cmd
}

// nagiosRequested tells whether --nagios is among the arguments (the flags
// may not have been parsed when the error came).
func nagiosRequested(args []string) bool {
	for _, a := range args {
		switch {
		case a == "--":
			return false
		case a == "--nagios" || strings.HasPrefix(a, "--nagios=") && a != "--nagios=false":
			return true
		}
	}
	return false
}
