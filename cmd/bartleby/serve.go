package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"bartleby/internal/control"
	"bartleby/internal/daemon"
)

func serveCmd() *cobra.Command {
	var opts daemon.Options
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the parts the config turns on (SIGHUP reloads, SIGUSR1 reopens logs, SIGTERM stops)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(os.Stderr)
			if err != nil {
				return err
			}
			return daemon.Run(context.Background(), g.config, opts, log)
		},
	}
	cmd.Flags().StringVar(&opts.User, "user", "", "started as root, run as this user keeping only CAP_NET_BIND_SERVICE (overrides the config's user)")
	return cmd
}

func checkCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Check the config file without starting anything (exit 1 on errors)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := daemon.Load(g.config)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, w := range cfg.Warnings {
				fmt.Fprintln(out, "warning:", w.String())
			}
			fmt.Fprintf(out, "%s: ok\n", cfg.File)
			return nil
		},
	}
}

// dial finds state_dir in the config and connects to the daemon there.
func dial() (*control.Client, error) {
	dir, err := stateDir(g.config)
	if err != nil {
		return nil, err
	}
	return control.Dial(dir)
}

// call runs one control command against the running daemon.
func call(cmd string, args, out any) error {
	c, err := dial()
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Call(cmd, args, out)
}
