package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

func newScheduleCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Manage the backup schedules of an installed cairn server",
		Long: `A Schedule makes Backup resources on a cron schedule and removes old ones by
its retention rules. The cairn server (see cairn install) runs them; these
commands only read and write Schedule resources.`,
		Example: `  cairn schedule create nightly --schedule "0 1 * * *" --keep-daily 7
  cairn schedule list
  cairn schedule describe nightly
  cairn schedule pause nightly`,
	}
	cmd.AddCommand(
		newScheduleCreateCommand(g),
		newScheduleListCommand(g),
		newScheduleDescribeCommand(g),
		newSchedulePauseCommand(g),
		newScheduleUnpauseCommand(g),
		newScheduleDeleteCommand(g),
	)
	return cmd
}

// setPaused pauses or unpauses Schedules and says what it did.
func setPaused(ctx context.Context, w io.Writer, c client.Client, sf serverFlags,
	names []string, paused bool) error {
	verb := map[bool]string{true: "paused", false: "unpaused"}[paused]
	for _, name := range names {
		var s v1alpha1.Schedule
		if err := getObject(ctx, c, sf.key(name), "Schedule", &s); err != nil {
			return err
		}
		if s.Spec.Paused == paused {
			fmt.Fprintf(w, "Schedule %s was already %s\n", name, verb)
			continue
		}
		patch := fmt.Sprintf(`{"spec":{"paused":%t}}`, paused)
		err := c.Patch(ctx, &s, client.RawPatch("application/merge-patch+json", []byte(patch)))
		if err != nil {
			return fmt.Errorf("schedule %s: %w", name, err)
		}
		fmt.Fprintf(w, "Schedule %s %s\n", name, verb)
	}
	return nil
}
