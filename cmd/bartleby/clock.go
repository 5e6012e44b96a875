package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"bartleby/internal/config"
	"bartleby/internal/watch/clock"
)

func init() { commands = append(commands, clockCmd) }

func clockCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "clock",
		Short: "Check the host clock against NTP servers",
	}
	cmd.AddCommand(asNagiosPlugin(clockCheckCmd(), "CLOCK"))
	return cmd
}

func clockCheckCmd() *cobra.Command {
	var (
		servers        []string
		warn, crit     time.Duration
		nagios, asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "check [--server HOST[:PORT]]... [--warn 100ms] [--crit 1s] [--nagios | --json]",
		Short: "Measure the clock offset and say what a skew that size breaks (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)",
		Long: `Query each server (two samples, 0.5 s apart), reject invalid answers
(kiss-of-death, stratum 0 or 16, leap indicator 3, root distance over 1.5 s)
and report the offset of the best-stratum answers. Without --server, the
servers of [watch.clock] in the config file are used.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(servers) == 0 {
				cfg, err := config.Load(g.config)
				if err != nil {
					return exitError{exitUsage, fmt.Errorf("no --server given, and the config has no servers: %w", err)}
				}
				if cfg.Watch == nil || cfg.Watch.Clock == nil {
					return exitError{exitUsage, errors.New("give --server, or set [watch.clock] servers in the config")}
				}
				servers = cfg.Watch.Clock.Servers
				if !cmd.Flags().Changed("warn") {
					warn = cfg.Watch.Clock.Warn.Duration
				}
				if !cmd.Flags().Changed("crit") {
					crit = cfg.Watch.Clock.Crit.Duration
				}
			}
			if warn > crit {
				return exitError{exitUsage, errors.New("--warn is above --crit")}
			}
			r := clock.Check(context.Background(), servers, clock.Options{Warn: warn, Crit: crit})
			out := cmd.OutOrStdout()
			switch {
			case nagios:
				fmt.Fprintln(out, r.Nagios())
			case asJSON:
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				enc.Encode(r)
			default:
				r.WriteText(out)
			}
			os.Exit(int(r.Status))
			return nil
		},
	}
	fl := cmd.Flags()
	def := config.Defaults().Watch.Clock
	fl.StringArrayVar(&servers, "server", nil, "NTP server, repeatable (default: [watch.clock] servers)")
	fl.DurationVar(&warn, "warn", def.Warn.Duration, "WARNING at this offset")
	fl.DurationVar(&crit, "crit", def.Crit.Duration, "CRITICAL at this offset")
	fl.BoolVar(&nagios, "nagios", false, "print a Nagios plugin line")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
