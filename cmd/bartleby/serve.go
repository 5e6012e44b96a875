package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"bartleby/internal/config"
	"bartleby/internal/control"
	"bartleby/internal/daemon"
	"bartleby/internal/privdrop"
	"bartleby/internal/watch"
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
			cfg, err := config.Load(g.config)
			if err != nil {
				return err
			}
			if err := checkContent(cfg); err != nil {
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

// checkContent checks the files the config points at whose syntax only a
// part knows, as the daemon would at start.
func checkContent(cfg *config.Config) error {
	if cfg.User != "" {
		if _, err := privdrop.Lookup(cfg.User); err != nil {
			return err
		}
	}
	if cfg.Watch != nil && cfg.Watch.Features != "" {
		if _, err := watch.Load(cfg.Watch.Features); err != nil {
			return err
		}
	}
	return nil
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
