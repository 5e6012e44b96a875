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
	var asJSON, ofFleet bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show which parts run, on which addresses, since when",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ofFleet {
				return fleetStatus(cmd.OutOrStdout(), asJSON)
			}
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
	cmd.Flags().BoolVar(&ofFleet, "fleet", false, "list the nodes of the fleet ([fleet]), up or down")
	return cmd
}

func fleetStatus(w io.Writer, asJSON bool) error {
	var st control.FleetStatus
	if err := call("fleet.status", nil, &st); err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printFleet(w, st, time.Now())
	return nil
}

func printFleet(w io.Writer, st control.FleetStatus, now time.Time) {
	if st.Connected {
		fmt.Fprintf(w, "node %s: connected to etcd for %s\n", st.Node, ago(now, st.Since))
	} else {
		fmt.Fprintf(w, "node %s: DEGRADED, no etcd quorum for %s (%s); serving the last known fleet state\n", st.Node, ago(now, st.Since), st.Err)
		if len(st.Nodes) == 0 {
			// The member list lives in etcd: an empty table would say
			// the fleet has no nodes.
			fmt.Fprintln(w, "the other nodes are unknown until etcd has a quorum again")
			return
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tVERSION\tPARTS\tADDRESSES")
	for _, n := range st.Nodes {
		state, ver := "down", n.Version
		if n.Up {
			state = "up"
		}
		if n.Skew {
			ver += " (differs from this node)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.Node, state, ver, strings.Join(n.Parts, ","), strings.Join(n.Addrs, " "))
	}
	tw.Flush()
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
	fmt.Fprintln(tw, "PART\tSTATE\tADDRESSES\tSINCE")
	for _, p := range st.Parts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s (%s ago)\n", p.Name, p.State, strings.Join(p.Addrs, " "), p.Since.Format(time.RFC3339), ago(now, p.Since))
	}
	tw.Flush()
	for _, p := range st.Parts {
		if p.Error != "" {
			fmt.Fprintf(w, "%s is failing: %s\n", p.Name, p.Error)
		}
	}
	for _, n := range st.Notices {
		fmt.Fprintln(w, "warning: "+n)
	}
}

func ago(now, t time.Time) string {
	return now.Sub(t).Truncate(time.Second).String()
}
