package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"bartleby/internal/web/proxycache"
)

func init() { commands = append(commands, cacheCmd) }

func cacheCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Manage the proxy cache of the running daemon",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "purge SITE [PATH-PREFIX]",
		Short: "Drop a site's cached answers (all, or those whose path starts with PATH-PREFIX)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a := proxycache.PurgeArgs{Site: args[0]}
			if len(args) == 2 {
				a.Prefix = args[1]
			}
			var res proxycache.PurgeResult
			if err := call("cache.purge", a, &res); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "purged %d entries\n", res.Purged)
			return nil
		},
	})
	return cmd
}
