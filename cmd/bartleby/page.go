package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"bartleby/internal/web/maint/inline"
)

func init() { commands = append(commands, pageCmd) }

func pageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "page",
		Short: "Tools for maintenance pages",
	}
	cmd.AddCommand(pageInlineCmd())
	return cmd
}

func pageInlineCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "inline IN.html [-o OUT.html]",
		Short: "Make a page self-contained: stylesheets, scripts, images and fonts inlined (no network)",
		Long: `Inline turns a page and the local files it refers to (stylesheets and the
url()s inside them, scripts, images, fonts) into one file: <style> elements
and data: URIs with the right MIME types. Only files under the page's
directory are read; a remote URL is refused, with the list of them.
The result goes to OUT.html, or to standard output without -o.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := inline.File(args[0])
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			report := cmd.ErrOrStderr()
			tw := tabwriter.NewWriter(report, 0, 4, 2, ' ', 0)
			for _, r := range res.Resources {
				fmt.Fprintf(tw, "inlined\t%s\t%s\t%d bytes\n", r.File, r.Type, r.Bytes)
			}
			tw.Flush()
			fmt.Fprintf(report, "%d resources, page is %s\n", len(res.Resources), kb(len(res.HTML)))
			if len(res.HTML) > inline.WarnSize {
				fmt.Fprintf(report, "warning: the page is larger than %s and is sent with every 503; shrink its images or fonts\n", kb(inline.WarnSize))
			}
			if out == "" {
				_, err := cmd.OutOrStdout().Write(res.HTML)
				return err
			}
			if sameFile(out, args[0]) {
				return fmt.Errorf("-o %s would overwrite the input", out)
			}
			if err := os.WriteFile(out, res.HTML, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(report, "wrote %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the page here instead of standard output")
	return cmd
}

// sameFile reports whether two paths name one file.
func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

func kb(n int) string {
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f KB", float64(n)/1024)
}
