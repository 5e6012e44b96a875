package main

import "github.com/spf13/cobra"

func init() { commands = append(commands, adminCmd) }

func adminCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Admin UI helpers"}
	cmd.AddCommand(hashPasswordCmd("admin.users"))
	return cmd
}
