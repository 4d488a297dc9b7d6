package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

type scheduleDeleteOptions struct {
	global  *globalOptions
	server  serverFlags
	backups bool
}

func newScheduleDeleteCommand(g *globalOptions) *cobra.Command {
	o := &scheduleDeleteOptions{global: g}
	cmd := &cobra.Command{
		Use:   "delete NAME...",
		Short: "Delete Schedules",
		Long: `Delete Schedules. The backups a schedule made stay, with their TTL, unless
--delete-backups is given: then they are deleted too, from their location as
well.`,
		Example: `  cairn schedule delete nightly
  cairn schedule delete nightly --delete-backups`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), cmd.OutOrStdout(), args)
		},
	}
	o.server.bind(cmd)
	cmd.Flags().BoolVar(&o.backups, "delete-backups", false,
		"also delete the schedule's backups")
	return cmd
}

func (o *scheduleDeleteOptions) run(ctx context.Context, w io.Writer, names []string) error {
	c, err := o.server.client(o.global)
	if err != nil {
		return err
	}
	for _, name := range names {
		var s v1alpha1.Schedule
		if err := getObject(ctx, c, o.server.key(name), "Schedule", &s); err != nil {
			return err
		}
		// Orphaning keeps the Backups a schedule owns from the garbage
		// collector; they are deleted below when asked. The Schedule then
		// stays until the collector has removed the references.
		var opts []client.DeleteOption
		if s.Spec.UseOwnerReferences {
			opts = append(opts, client.PropagationPolicy(metav1.DeletePropagationOrphan))
		}
		err := c.Delete(ctx, &s, opts...)
		if client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete schedule %s: %w", name, err)
		}
		fmt.Fprintf(w, "Schedule %s deleted\n", name)
		if !o.backups {
			continue
		}
		err = c.DeleteAllOf(ctx, &v1alpha1.Backup{}, client.InNamespace(o.server.namespace),
			client.MatchingLabels{v1alpha1.LabelSchedule: name},
			client.PropagationPolicy(metav1.DeletePropagationBackground))
		if err != nil {
			return fmt.Errorf("delete backups of schedule %s: %w", name, err)
		}
		fmt.Fprintf(w, "Backups of schedule %s deleted\n", name)
	}
	return nil
}
