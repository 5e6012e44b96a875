package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"bartleby/internal/config"
	"bartleby/internal/jail"
	"bartleby/internal/sshd"
)

func init() { commands = append(commands, sftpCmd) }

func sftpCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "sftp",
		Short: "The jailed SFTP/rsync server's tools",
	}
	c.AddCommand(hashPasswordCmd("[[ssh.user]] password"), blockedCmd(), unblockCmd(), rsyncExecCmd())
	return c
}

func blockedCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "blocked",
		Short: "List the addresses blocked after failed logins",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list []sshd.Blocked
			if err := call("ssh.blocked", nil, &list); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if len(list) == 0 {
				fmt.Fprintln(w, "no address is blocked")
			}
			for _, b := range list {
				from := ""
				if b.From != "" {
					from = "  blocked by " + b.From
				}
				fmt.Fprintf(w, "%-40s until %s%s\n", b.Addr, b.Until.Local().Format(time.DateTime), from)
			}
			return nil
		},
	}
}

func unblockCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "unblock ADDRESS",
		Short: "Let an address blocked after failed logins in again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out map[string]bool
			if err := call("ssh.unblock", sshd.UnblockArgs{Addr: args[0]}, &out); err != nil {
				return err
			}
			if out["was_blocked"] {
				fmt.Fprintf(cmd.OutOrStdout(), "%s unblocked\n", args[0])
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "%s was not blocked\n", args[0])
			}
			return nil
		},
	}
}

// rsyncExecCmd is the confined rsync runner the ssh part re-executes; not
// for people.
func rsyncExecCmd() *cobra.Command {
	var dir, umask string
	var writable bool
	c := &cobra.Command{
		Use:    "rsync-exec --dir DIR --umask 022 [--writable] -- rsync ARGS…",
		Hidden: true,
		Args:   cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			mask, err := config.ParseUmask(umask)
			if err != nil {
				return err
			}
			return jail.RunConfined(dir, writable, mask, args)
		},
	}
	c.Flags().StringVar(&umask, "umask", "022", "the umask rsync runs with")
	c.Flags().StringVar(&dir, "dir", "", "the jail directory rsync may use")
	c.Flags().BoolVar(&writable, "writable", false, "allow writing in --dir")
	c.MarkFlagRequired("dir")
	return c
}
