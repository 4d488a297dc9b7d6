package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

type scheduleListOptions struct {
	global *globalOptions
	server serverFlags
	out    outputFlag
}

func newScheduleListCommand(g *globalOptions) *cobra.Command {
	o := &scheduleListOptions{global: g}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List Schedules",
		Example: `  cairn schedule list
  cairn schedule list -n cairn-system -o yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.out.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context(), cmd.OutOrStdout())
		},
	}
	o.server.bind(cmd)
	o.out.bind(cmd)
	return cmd
}

func (o *scheduleListOptions) run(ctx context.Context, w io.Writer) error {
	c, err := o.server.client(o.global)
	if err != nil {
		return err
	}
	var list v1alpha1.ScheduleList
	if err := c.List(ctx, &list, client.InNamespace(o.server.namespace)); err != nil {
		return fmt.Errorf("list schedules in %s: %w", o.server.namespace, err)
	}
	if o.out.structured() {
		return o.out.print(w, list.Items)
	}
	if len(list.Items) == 0 {
		fmt.Fprintf(w, "No schedules in %s\n", o.server.namespace)
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCHEDULE\tPHASE\tLAST BACKUP\tLAST\tNEXT\tSKIPPED")
	for _, s := range list.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", s.Name, s.Spec.Schedule,
			orDash(string(s.Status.Phase)), orDash(s.Status.LastBackup),
			sinceText(s.Status.LastScheduleTime, now), sinceText(s.Status.NextScheduleTime, now),
			s.Status.SkippedRuns)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
