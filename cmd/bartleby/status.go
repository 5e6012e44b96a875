package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"bartleby/internal/control"
)

func statusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show which parts run, on which addresses, since when",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var st control.Status
			if err := call("status", nil, &st); err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			printStatus(cmd.OutOrStdout(), st, time.Now())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printStatus(w io.Writer, st control.Status, now time.Time) {
	fmt.Fprintf(w, "bartleby %s, pid %d, up %s, config %s\n", st.Version, st.PID, ago(now, st.Started), st.Config)
	if !st.Reload.IsZero() {
		fmt.Fprintf(w, "last successful reload %s ago\n", ago(now, st.Reload))
	}
	if a := st.Attempt; a != nil {
		fmt.Fprintf(w, "last reload attempt %s ago by %s: %s\n", ago(now, a.At), a.By, a.Summary())
		if !a.OK {
			a.Write(w)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PART\tADDRESSES\tSINCE")
	for _, p := range st.Parts {
		fmt.Fprintf(tw, "%s\t%s\t%s (%s ago)\n", p.Name, strings.Join(p.Addrs, " "), p.Since.Format(time.RFC3339), ago(now, p.Since))
	}
	tw.Flush()
	for _, n := range st.Notices {
		fmt.Fprintln(w, "warning: "+n)
	}
}

func ago(now, t time.Time) string {
	return now.Sub(t).Truncate(time.Second).String()
}
