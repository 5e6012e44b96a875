// Command bartleby runs the edge services of a small organisation's host
// from one config file: a web front with maintenance mode, a mail relay and
// backup MX, a jailed SFTP/rsync server and production behaviour checks.
//
// Called as `sendmail` or `mailq` (through a symlink) it speaks the classic
// command lines of those names.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"bartleby/internal/config"
)

// Exit codes follow sysexits.h where a caller (cron, an MTA) reads them.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 64
	exitTempFail = 75
)

// personalities are the other names the binary answers to; argv[0] picks.
var personalities = map[string]func(args []string) int{}

func main() {
	if run, ok := personalities[filepath.Base(os.Args[0])]; ok {
		os.Exit(run(os.Args[1:]))
	}
	root := rootCmd()
	if err := root.Execute(); err != nil {
		var cfgErrs config.Errors
		if errors.As(err, &cfgErrs) {
			for _, p := range cfgErrs {
				fmt.Fprintln(os.Stderr, p.String())
			}
		} else {
			fmt.Fprintln(os.Stderr, "bartleby:", err)
		}
		var ec exitCoder
		if errors.As(err, &ec) {
			os.Exit(ec.ExitCode())
		}
		os.Exit(exitFailure)
	}
}

// exitCoder is an error that wants a specific exit status.
type exitCoder interface{ ExitCode() int }

type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }
func (e exitError) ExitCode() int { return e.code }
