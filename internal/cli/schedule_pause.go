package cli

import (
	"github.com/spf13/cobra"
)

func newSchedulePauseCommand(g *globalOptions) *cobra.Command {
	var sf serverFlags
	cmd := &cobra.Command{
		Use:   "pause NAME...",
		Short: "Stop Schedules from making backups",
		Long: `Pause Schedules. A backup already running goes on; ticks that pass while a
schedule is paused are not made up for when it is unpaused.`,
		Example: `  cairn schedule pause nightly
  cairn schedule pause nightly hourly -n cairn-system`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := sf.client(g)
			if err != nil {
				return err
			}
			return setPaused(cmd.Context(), cmd.OutOrStdout(), c, sf, args, true)
		},
	}
	sf.bind(cmd)
	return cmd
}
