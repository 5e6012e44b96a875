package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"bartleby/internal/config"
	"bartleby/internal/version"
)

// globals are the flags every command shares.
type globals struct {
	config    string
	logFormat string
	logLevel  string
}

var g globals

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "bartleby",
		Short:         "Edge services for a small host: web, mail, SFTP jail, watch",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	def := os.Getenv("BARTLEBY_CONFIG")
	if def == "" {
		def = config.DefaultPath
	}
	root.PersistentFlags().StringVarP(&g.config, "config", "c", def, "config file (env BARTLEBY_CONFIG)")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	for _, add := range commands {
		root.AddCommand(add())
	}
	return root
}

// commands are the subcommands; files of this package add theirs in init.
var commands = []func() *cobra.Command{serveCmd, checkCmd, statusCmd, versionCmd}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "bartleby", version.String())
		},
	}
}

// newLogger builds the slog logger the flags ask for.
func newLogger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, exitError{exitUsage, fmt.Errorf("--log-level %q: want debug, info, warn or error", g.logLevel)}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch g.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, exitError{exitUsage, fmt.Errorf("--log-format %q: want text or json", g.logFormat)}
}
