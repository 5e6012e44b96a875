package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"bartleby/internal/certs/capool"
	"bartleby/internal/config"
	"bartleby/internal/version"
	"bartleby/internal/watch"
	"bartleby/internal/watch/report"
	"bartleby/internal/watch/scenario"
)

func init() { commands = append(commands, watchCmd) }

func watchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Run behaviour scenarios (Gherkin feature files) against a live site",
	}
	cmd.AddCommand(asNagiosPlugin(watchRunCmd(), "WATCH"), watchStatusCmd())
	return cmd
}

func watchStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the running daemon's scenarios, their last run and the clock check",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var st watch.Status
			if err := call("watch.status", nil, &st); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			printWatchStatus(out, st, time.Now())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printWatchStatus(w io.Writer, st watch.Status, now time.Time) {
	if st.Clock != nil {
		fmt.Fprintf(w, "%s (checked %s ago)\n", st.Clock.Line(), ago(now, st.Clock.Time))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tSTATUS\tLAST RUN\tTOOK\tWHERE")
	for _, s := range st.Scenarios {
		status, when, took := "not run yet", "-", "-"
		if r := s.Last; r != nil {
			status = "passed"
			switch f := r.Failed(); {
			case f != nil:
				status = fmt.Sprintf("FAILED at line %d: %s", f.Line, f.Error)
			case r.Slow:
				status = "slow"
			}
			when, took = ago(now, r.Started)+" ago", fmt.Sprintf("%.3fs", r.Duration.Seconds())
		}
		fmt.Fprintf(tw, "%s / %s\t%s\t%s\t%s\t%s:%d\n", s.Feature, s.Scenario, status, when, took, s.File, s.Line)
	}
	tw.Flush()
}

// watchRunFlags are `watch run`'s options.
type watchRunFlags struct {
	nagios, collectd, json, once bool
	base, ca                     string
	timeout, warn, crit          time.Duration
}

func watchRunCmd() *cobra.Command {
	var f watchRunFlags
	cmd := &cobra.Command{
		Use:   "run FILE|DIR [--nagios | --collectd | --json]",
		Short: "Run every scenario once and report each step's time (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)",
		Long: `Run the scenarios of a .feature file, or of every *.feature file under a
directory, and report each step with its time and HTTP phases.

--nagios prints one plugin status line with perfdata per step. --collectd
prints PUTVAL lines for collectd's exec plugin; started by collectd
(COLLECTD_INTERVAL set) it keeps running and reports every interval, unless
--once. Relative URLs resolve against --base, else watch.base of the config
file when there is one.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if n := btoi(f.nagios) + btoi(f.collectd) + btoi(f.json); n > 1 {
				return exitError{exitUsage, fmt.Errorf("choose one of --nagios, --collectd, --json")}
			}
			os.Exit(runWatch(cmd.OutOrStdout(), args[0], f))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.nagios, "nagios", false, "print a Nagios plugin line")
	fl.BoolVar(&f.collectd, "collectd", false, "print collectd PUTVAL lines (exec plugin)")
	fl.BoolVar(&f.json, "json", false, "print JSON")
	fl.BoolVar(&f.once, "once", false, "with --collectd: report once even under collectd")
	fl.StringVar(&f.base, "base", "", "base URL for relative URLs")
	fl.StringVar(&f.ca, "ca", "", "trust these CAs (PEM file or directory) instead of the system's")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Second, "timeout of each step")
	fl.DurationVar(&f.warn, "warn", 0, "WARNING when a step takes longer (0: none; tag @warn=… per scenario)")
	fl.DurationVar(&f.crit, "crit", 0, "CRITICAL when a step takes longer (0: none; tag @crit=… per scenario)")
	return cmd
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// runWatch runs the scenarios and returns the exit code.
func runWatch(out io.Writer, path string, f watchRunFlags) int {
	th := report.Thresholds{Warn: f.warn, Crit: f.crit}
	fail := func(err error) int {
		if f.nagios {
			return report.NagiosUnknown(out, "WATCH", err)
		}
		fmt.Fprintln(os.Stderr, "bartleby:", err)
		return 3
	}
	feats, err := scenario.Load(path)
	if err != nil {
		return fail(err)
	}
	opt, err := watchOptions(f)
	if err != nil {
		return fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if f.collectd {
		return runCollectd(ctx, out, feats, opt, f.once)
	}
	results := scenario.RunAll(ctx, feats, opt)
	switch {
	case f.nagios:
		return th.WriteNagios(out, results)
	case f.json:
		return th.WriteJSON(out, results)
	}
	return th.WriteText(out, results)
}

func watchOptions(f watchRunFlags) (scenario.Options, error) {
	opt := scenario.Options{Timeout: f.timeout, UserAgent: "bartleby-watch/" + version.String()}
	base, ca := f.base, f.ca
	// The config is optional here: a plugin runs without one.
	if cfg, err := config.Load(g.config); err == nil && cfg.Watch != nil {
		base = cmp.Or(base, cfg.Watch.Base)
		ca = cmp.Or(ca, cfg.Watch.CA)
	}
	if ca != "" {
		pool, err := capool.Load(ca)
		if err != nil {
			return opt, err
		}
		opt.RootCAs = pool
	}
	if base != "" {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return opt, exitError{exitUsage, fmt.Errorf("--base %q: want an http(s) URL", base)}
		}
		opt.Base = u
	}
	return opt, nil
}

// runCollectd reports once, or every COLLECTD_INTERVAL when collectd's exec
// plugin runs us (it expects a long-lived process).
func runCollectd(ctx context.Context, out io.Writer, feats []*scenario.Feature, opt scenario.Options, once bool) int {
	host := os.Getenv("COLLECTD_HOSTNAME")
	if host == "" {
		host, _ = os.Hostname()
	}
	interval := 60 * time.Second
	env := os.Getenv("COLLECTD_INTERVAL")
	if env != "" {
		s, err := strconv.ParseFloat(env, 64)
		if err != nil || s < 1 || s > 86400 {
			fmt.Fprintf(os.Stderr, "bartleby: COLLECTD_INTERVAL %q: want seconds from 1 to 86400\n", env)
			return exitUsage
		}
		interval = time.Duration(s * float64(time.Second))
	}
	for {
		start := time.Now()
		report.WriteCollectd(out, host, interval, scenario.RunAll(ctx, feats, opt))
		if once || env == "" {
			return 0
		}
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(interval - time.Since(start)):
		}
	}
}
