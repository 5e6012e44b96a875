package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"bartleby/internal/config"
	"bartleby/internal/web/maint"
)

func init() { commands = append(commands, maintCmd) }

func maintCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "maint",
		Short: "Switch a site's maintenance mode in the running daemon (a site is named by its first host)",
	}
	cmd.AddCommand(maintOnCmd(), maintOffCmd(), maintStatusCmd())
	return cmd
}

func maintOnCmd() *cobra.Command {
	var (
		forD    string
		until   string
		message string
	)
	cmd := &cobra.Command{
		Use:   "on SITE [--for 2h | --until 2026-12-01T06:00Z] [--message TEXT]",
		Short: "Put a site in maintenance: visitors get the 503 page, the allowlist and bypass cookie pass",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			end, err := maintEnd(forD, until, time.Now())
			if err != nil {
				return exitError{exitUsage, err}
			}
			var md maint.Mode
			if err := call("maint.on", maint.OnArgs{Site: args[0], Until: end, Message: message, Who: cliUser()}, &md); err != nil {
				return err
			}
			printMode(cmd.OutOrStdout(), md)
			return nil
		},
	}
	cmd.Flags().StringVar(&forD, "for", "", "end automatically after this long (\"30m\", \"2h\", \"1d\")")
	cmd.Flags().StringVar(&until, "until", "", "end automatically at this time (\"2026-12-01T06:00Z\", RFC 3339 with a zone)")
	cmd.Flags().StringVar(&message, "message", "", "message shown on the page (default: the site's message)")
	return cmd
}

func maintOffCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "off SITE",
		Short: "End a site's maintenance",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var st []maint.SiteStatus
			if err := call("maint.off", maint.OffArgs{Site: args[0], Who: cliUser()}, &st); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: maintenance off\n", args[0])
			return nil
		},
	}
}

func maintStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every site's maintenance state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var st []maint.SiteStatus
			if err := call("maint.status", nil, &st); err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			printMaintStatus(cmd.OutOrStdout(), st)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// maintEnd turns --for or --until into the end time (zero: none).
func maintEnd(forD, until string, now time.Time) (time.Time, error) {
	switch {
	case forD != "" && until != "":
		return time.Time{}, fmt.Errorf("give --for or --until, not both")
	case forD != "":
		d, err := config.ParseDuration(forD)
		if err != nil || d <= 0 {
			return time.Time{}, fmt.Errorf("--for %q: want a duration like 30m, 2h or 1d", forD)
		}
		return now.Add(d).UTC().Truncate(time.Second), nil
	case until != "":
		for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00"} {
			if t, err := time.Parse(layout, until); err == nil {
				if !t.After(now) {
					return time.Time{}, fmt.Errorf("--until %s is in the past", until)
				}
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("--until %q: want a time with its zone, like 2026-12-01T06:00Z or 2026-12-01T07:00+01:00", until)
	}
	return time.Time{}, nil
}

// cliUser is the user behind sudo, if any, for the daemon's record; the
// daemon learns the CLI's own user from the socket itself.
func cliUser() string {
	return os.Getenv("SUDO_USER")
}

func printMode(w io.Writer, md maint.Mode) {
	end := "until switched off"
	if !md.Until.IsZero() {
		end = "until " + md.Until.UTC().Format(time.RFC3339) + " (" + time.Until(md.Until).Round(time.Second).String() + ")"
	}
	fmt.Fprintf(w, "%s: maintenance on %s\n", md.Site, end)
}

func printMaintStatus(w io.Writer, st []maint.SiteStatus) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SITE\tSTATE\tSINCE\tBY\tUNTIL\tBYPASS\tMESSAGE")
	for _, s := range st {
		if !s.On {
			fmt.Fprintf(tw, "%s\tup\t-\t-\t-\t%s\t-\n", s.Site, s.Bypass)
			continue
		}
		until := "-"
		if !s.Mode.Until.IsZero() {
			until = s.Mode.Until.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\tmaintenance\t%s\t%s\t%s\t%s\t%q\n", s.Site, s.Mode.Since.UTC().Format(time.RFC3339), s.Mode.Who, until, s.Bypass, s.Mode.Message)
	}
	tw.Flush()
	printFleetMaint(w, st)
}

// printFleetMaint shows, in fleet mode, what every node applies to each
// site: the switch is fleet-wide, this says whether each node has it.
func printFleetMaint(w io.Writer, st []maint.SiteStatus) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := false
	for _, s := range st {
		if s.FleetError != "" {
			fmt.Fprintf(w, "%s: the fleet's view is unavailable (%s); the state above is this node's\n", s.Site, s.FleetError)
			continue
		}
		for _, n := range s.Nodes {
			if !header {
				fmt.Fprintln(tw, "\nSITE\tNODE\tNODE UP\tAPPLIES")
				header = true
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Site, n.Node, yesNo(n.Up), nodeApplies(n))
		}
	}
	tw.Flush()
}

func nodeApplies(n maint.NodeState) string {
	switch {
	case !n.Known:
		return "unknown (no report yet)"
	case n.On:
		return "maintenance since " + n.Since.UTC().Format(time.RFC3339)
	default:
		return "up"
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
