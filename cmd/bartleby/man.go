package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"bartleby/internal/config"
	"bartleby/internal/config/manpage"
)

func init() { commands = append(commands, manCmd) }

// manCmd writes the man pages for the Debian package (scripts/make-deb):
// bartleby(8) and a page per subcommand from the CLI's definitions, and
// bartleby.toml(5) from the source of the README's config tables. Hidden
// because admins read the pages, not make them.
func manCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "man DIR",
		Short:  "Write the man pages into DIR/man8 (bartleby and its subcommands) and DIR/man5 (bartleby.toml)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			man8, man5 := filepath.Join(args[0], "man8"), filepath.Join(args[0], "man5")
			for _, dir := range []string{man8, man5} {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return err
				}
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true // reproducible pages
			header := &doc.GenManHeader{Title: "BARTLEBY", Section: "8", Source: "bartleby", Manual: "System Administration"}
			if err := doc.GenManTree(root, header, man8); err != nil {
				return fmt.Errorf("man pages: %w", err)
			}
			// sendmail, mailq and newaliases are this binary under other
			// names: their pages point to bartleby-sendmail(8).
			for _, name := range []string{"sendmail", "mailq", "newaliases"} {
				if err := os.WriteFile(filepath.Join(man8, name+".8"), []byte(".so man8/bartleby-sendmail.8\n"), 0o644); err != nil {
					return fmt.Errorf("man page: %w", err)
				}
			}
			page := manpage.Config(config.KeyDocs())
			if err := os.WriteFile(filepath.Join(man5, "bartleby.toml.5"), []byte(page), 0o644); err != nil {
				return fmt.Errorf("man page: %w", err)
			}
			return nil
		},
	}
}
