package main

import (
	"errors"

	"github.com/spf13/cobra"

	"bartleby/internal/control"
)

func init() { commands = append(commands, reloadCmd) }

// errReloadFailed makes `reload` exit 1 after printing the problems.
var errReloadFailed = exitError{exitFailure, errors.New("reload failed")}

func reloadCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "reload",
		Short: "Have the running daemon re-read its config and wait for the result (exit 1 on any problem)",
		Long: `Asks the running daemon, over its control socket, to re-read the config
and waits until it has been applied. Prints what each part did; on a
refused file, every problem (file:line) and "the running config is
unchanged". The systemd unit's ExecReload runs this command.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var res control.ReloadResult
			if err := call("reload", nil, &res); err != nil {
				return err
			}
			res.Write(cmd.OutOrStdout())
			if !res.OK {
				return errReloadFailed
			}
			return nil
		},
	}
}
