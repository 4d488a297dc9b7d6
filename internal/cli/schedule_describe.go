package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

type scheduleDescribeOptions struct {
	global *globalOptions
	server serverFlags
	out    outputFlag
}

// scheduleDescription is what describe prints with -o.
type scheduleDescription struct {
	Schedule *v1alpha1.Schedule `json:"schedule"`
	Backups  []v1alpha1.Backup  `json:"backups"`
}

func newScheduleDescribeCommand(g *globalOptions) *cobra.Command {
	o := &scheduleDescribeOptions{global: g}
	cmd := &cobra.Command{
		Use:   "describe NAME",
		Short: "Show a Schedule, its retention and its backups",
		Example: `  cairn schedule describe nightly
  cairn schedule describe nightly -o json`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.out.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context(), cmd.OutOrStdout(), args[0])
		},
	}
	o.server.bind(cmd)
	o.out.bind(cmd)
	return cmd
}

func (o *scheduleDescribeOptions) run(ctx context.Context, w io.Writer, name string) error {
	c, err := o.server.client(o.global)
	if err != nil {
		return err
	}
	var s v1alpha1.Schedule
	if err := getObject(ctx, c, o.server.key(name), "Schedule", &s); err != nil {
		return err
	}
	var list v1alpha1.BackupList
	if err := c.List(ctx, &list, client.InNamespace(s.Namespace),
		client.MatchingLabels{v1alpha1.LabelSchedule: name}); err != nil {
		return fmt.Errorf("list backups of schedule %s: %w", name, err)
	}
	slices.SortFunc(list.Items, func(a, b v1alpha1.Backup) int {
		return strings.Compare(a.Name, b.Name)
	})
	if o.out.structured() {
		return o.out.print(w, scheduleDescription{Schedule: &s, Backups: list.Items})
	}
	return printSchedule(w, &s, list.Items)
}

func printSchedule(w io.Writer, s *v1alpha1.Schedule, backups []v1alpha1.Backup) error {
	now := time.Now()
	st := s.Status
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	tz := s.Spec.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	fmt.Fprintf(tw, "Name:\t%s/%s\n", s.Namespace, s.Name)
	fmt.Fprintf(tw, "Schedule:\t%s (%s)\n", s.Spec.Schedule, tz)
	fmt.Fprintf(tw, "Phase:\t%s\n", orDash(string(st.Phase)))
	if st.ValidationError != "" {
		fmt.Fprintf(tw, "Validation error:\t%s\n", st.ValidationError)
	}
	fmt.Fprintf(tw, "Paused:\t%t\n", s.Spec.Paused)
	fmt.Fprintf(tw, "Next run:\t%s\n", timeOrDash(st.NextScheduleTime))
	fmt.Fprintf(tw, "Last run:\t%s\n", timeOrDash(st.LastScheduleTime))
	fmt.Fprintf(tw, "Last backup:\t%s\n", orDash(st.LastBackup))
	fmt.Fprintf(tw, "Last successful:\t%s\n", orDash(st.LastSuccessfulBackup))
	fmt.Fprintf(tw, "Skipped runs:\t%d (last %s)\n", st.SkippedRuns,
		timeOrDash(st.LastSkippedTime))
	fmt.Fprintf(tw, "Retention:\t%s\n", retentionText(s.Spec))
	fmt.Fprintf(tw, "Location:\t%s\n", orDash(s.Spec.Template.Location))
	fmt.Fprintf(tw, "Namespaces:\t%s\n", orDash(strings.Join(s.Spec.Template.IncludeNamespaces,
		",")))
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nBackups (%d):\n", len(backups))
	if len(backups) == 0 {
		return nil
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tPHASE\tOBJECTS\tSTARTED\tREASON")
	for _, b := range backups {
		objects := "-"
		if p := b.Status.Progress; p != nil {
			objects = fmt.Sprint(p.Objects)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", b.Name, orDash(string(b.Status.Phase)),
			objects, sinceText(b.Status.StartTime, now), b.Status.FailureReason)
	}
	return tw.Flush()
}

func timeOrDash(t *metav1.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.RFC3339)
}

func retentionText(s v1alpha1.ScheduleSpec) string {
	var parts []string
	for _, r := range []struct {
		what string
		n    *int32
	}{
		{"last", s.Retention.KeepLast}, {"daily", s.Retention.KeepDaily},
		{"weekly", s.Retention.KeepWeekly}, {"monthly", s.Retention.KeepMonthly},
	} {
		if r.n != nil {
			parts = append(parts, fmt.Sprintf("keep %s %d", r.what, *r.n))
		}
	}
	if ttl := s.Template.TTL; ttl != nil {
		parts = append(parts, "ttl "+ttl.Duration.String())
	}
	if len(parts) == 0 {
		return "keep all"
	}
	return strings.Join(parts, ", ")
}
