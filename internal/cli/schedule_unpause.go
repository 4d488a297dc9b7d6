package cli

import (
	"github.com/spf13/cobra"
)

func newScheduleUnpauseCommand(g *globalOptions) *cobra.Command {
	var sf serverFlags
	cmd := &cobra.Command{
		Use:   "unpause NAME...",
		Short: "Let paused Schedules make backups again",
		Long: `Unpause Schedules. The next backup is at the first tick after now; ticks
missed while paused are not made up for.`,
		Example: `  cairn schedule unpause nightly`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := sf.client(g)
			if err != nil {
				return err
			}
			return setPaused(cmd.Context(), cmd.OutOrStdout(), c, sf, args, false)
		},
	}
	sf.bind(cmd)
	return cmd
}
