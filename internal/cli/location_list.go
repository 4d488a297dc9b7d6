package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/config"
	"github.com/cairn-backup/cairn/internal/location"
)

type locationListOptions struct {
	out outputFlag
}

// listedLocation is one entry of `location list -o`.
type listedLocation struct {
	config.Location
	Default bool `json:"default,omitempty"`
}

func newLocationListCommand(_ *globalOptions) *cobra.Command {
	o := &locationListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the named locations",
		Long: `List the named locations of the client configuration: name, URL without
its options, whether it is the default, read-only, and which keys and
credentials it uses. -o json or -o yaml prints every field, options
included.`,
		Example: `  cairn location list
  cairn location list -o json | jq -r '.[] | select(.default) | .url'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.out.validate(); err != nil {
				return err
			}
			return o.run(cmd.OutOrStdout())
		},
	}
	o.out.bind(cmd)
	return cmd
}

func (o *locationListOptions) run(w io.Writer) error {
	c, _, err := loadConfig()
	if err != nil {
		return err
	}
	list := make([]listedLocation, 0, len(c.Locations))
	for _, l := range c.Locations {
		list = append(list, listedLocation{Location: l, Default: l.Name == c.DefaultLocation})
	}
	if o.out.structured() {
		return o.out.print(w, list)
	}
	if len(list) == 0 {
		fmt.Fprintf(os.Stderr, "no locations; without --location, commands use %s\n",
			location.DefaultURL())
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tURL\tDEFAULT\tACCESS\tOPTIONS")
	for _, l := range list {
		def, access := "", "read-write"
		if l.Default {
			def = "*"
		}
		if l.ReadOnly {
			access = "read-only"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.Name, location.Display(l.URL), def, access,
			locationOptions(l.Location))
	}
	return tw.Flush()
}

// locationOptions summarises what a location carries beyond its URL.
func locationOptions(l config.Location) string {
	var opts []string
	if l.CredentialsFile != "" {
		opts = append(opts, "credentials")
	}
	if n := len(l.Recipients) + len(l.RecipientFiles); n > 0 {
		opts = append(opts, "encrypted ("+plural(n, "recipient")+")")
	}
	if n := len(l.IdentityFiles); n > 0 {
		opts = append(opts, plural(n, "identity file"))
	}
	if len(opts) == 0 {
		return "-"
	}
	return strings.Join(opts, ", ")
}

// plural writes n things, in the plural when n is not 1.
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
