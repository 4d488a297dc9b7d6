package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/config"
	"github.com/cairn-backup/cairn/internal/location"
)

type locationRemoveOptions struct{}

func newLocationRemoveCommand(_ *globalOptions) *cobra.Command {
	o := &locationRemoveOptions{}
	cmd := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a named location from the client configuration",
		Long: `Remove a named location from the client configuration. Its backups stay
where they are: the location can be added again, or reached by its URL.
When it was the default, there is no default location after.`,
		Example: `  cairn location remove old-nas`,
		Args:    exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.OutOrStdout(), args[0])
		},
	}
	return cmd
}

func (o *locationRemoveOptions) run(w io.Writer, name string) error {
	c, path, err := loadConfig()
	if err != nil {
		return err
	}
	wasDefault := c.DefaultLocation == name
	if err := c.Remove(name); err != nil {
		if errors.Is(err, config.ErrNotFound) {
			return usageErrorf("%v (see cairn location list)", err)
		}
		return err
	}
	if err := c.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(w, "location %s removed; its backups were not touched\n", name)
	if wasDefault {
		fmt.Fprintf(w, "there is no default location now: commands without --location use %s\n",
			location.DefaultURL())
	}
	return nil
}
