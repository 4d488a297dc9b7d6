package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/cairn-backup/cairn/internal/server"
	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

type scheduleCreateOptions struct {
	global *globalOptions
	server serverFlags
	out    outputFlag
	spec   v1alpha1.ScheduleSpec
	keep   struct{ last, daily, weekly, monthly int32 }
}

func newScheduleCreateCommand(g *globalOptions) *cobra.Command {
	o := &scheduleCreateOptions{global: g}
	cmd := &cobra.Command{
		Use:   "create NAME --schedule CRON",
		Short: "Create a Schedule that backs up on a cron schedule",
		Long: `Create a Schedule resource. The cairn server makes a Backup at every tick,
named NAME-YYYYMMDDhhmmss after the tick, unless the schedule's previous
backup is still running: then the tick is skipped and counted.

--schedule takes five cron fields (minute hour day-of-month month
day-of-week) or a descriptor (@hourly, @daily, @every 6h), read in
--time-zone. Retention keeps a backup when any --keep rule keeps it; with no
--keep rule backups stay until their --ttl. With --owner-references the
schedule owns its Backups: deleting the Schedule resource lets the garbage
collector delete them, data included; cairn schedule delete orphans them
unless given --delete-backups.`,
		Example: `  # Back up the namespace shop every night at 01:00 Berlin time, keep a week
  cairn schedule create shop-nightly --schedule "0 1 * * *" \
      --time-zone Europe/Berlin --include-namespaces shop --keep-daily 7

  # The whole cluster every 6 hours; 4 recent, 7 daily, 4 weekly, 6 monthly
  cairn schedule create cluster --schedule "@every 6h" --keep-last 4 \
      --keep-daily 7 --keep-weekly 4 --keep-monthly 6`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.complete(cmd); err != nil {
				return err
			}
			return o.run(cmd.Context(), cmd.OutOrStdout(), args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.spec.Schedule, "schedule", "", "cron expression or descriptor (required)")
	f.StringVar(&o.spec.TimeZone, "time-zone", "", "IANA time zone of the schedule (default: UTC)")
	f.BoolVar(&o.spec.Paused, "paused", false, "create the schedule paused")
	f.BoolVar(&o.spec.UseOwnerReferences, "owner-references", false,
		"make the schedule the owner of its backups")
	f.Int32Var(&o.keep.last, "keep-last", -1, "keep the newest N successful backups")
	f.Int32Var(&o.keep.daily, "keep-daily", -1, "keep the newest backup of each of N days")
	f.Int32Var(&o.keep.weekly, "keep-weekly", -1, "keep the newest backup of each of N weeks")
	f.Int32Var(&o.keep.monthly, "keep-monthly", -1,
		"keep the newest backup of each of N months")
	templateFlags{}.bind(f)
	o.server.bind(cmd)
	o.out.bind(cmd)
	return cmd
}

func (o *scheduleCreateOptions) complete(cmd *cobra.Command) error {
	if err := o.out.validate(); err != nil {
		return err
	}
	if o.spec.Schedule == "" {
		return usageErrorf("--schedule is required")
	}
	// The server would take a bad schedule and only mark it failed.
	_, err := server.ParseCron(o.spec.Schedule)
	switch {
	case errors.Is(err, server.ErrZoneInSchedule):
		return usageErrorf("--schedule %q: give the time zone with --time-zone",
			o.spec.Schedule)
	case err != nil:
		return usageErrorf("--schedule %q: %v; see --help", o.spec.Schedule, err)
	}
	if _, err := time.LoadLocation(o.spec.TimeZone); err != nil {
		return usageErrorf("--time-zone %q: not a time zone such as UTC or Europe/Berlin",
			o.spec.TimeZone)
	}
	t, err := templateFrom(cmd.Flags())
	if err != nil {
		return err
	}
	o.spec.Template = t
	for _, k := range []struct {
		n   int32
		dst **int32
	}{
		{o.keep.last, &o.spec.Retention.KeepLast},
		{o.keep.daily, &o.spec.Retention.KeepDaily},
		{o.keep.weekly, &o.spec.Retention.KeepWeekly},
		{o.keep.monthly, &o.spec.Retention.KeepMonthly},
	} {
		if k.n >= 0 {
			*k.dst = &k.n
		}
	}
	return nil
}

func (o *scheduleCreateOptions) run(ctx context.Context, w io.Writer, name string) error {
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return usageErrorf("schedule name %q: %s", name, errs[0])
	}
	c, err := o.server.client(o.global)
	if err != nil {
		return err
	}
	s := &v1alpha1.Schedule{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Schedule"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: o.server.namespace},
		Spec:       o.spec,
	}
	err = c.Create(ctx, s)
	switch {
	case apierrors.IsAlreadyExists(err):
		return usageErrorf("Schedule %s/%s already exists", s.Namespace, name)
	case apierrors.IsInvalid(err):
		return usageErrorf("%v", err)
	case err != nil:
		return fmt.Errorf("create schedule %s: %w", name, err)
	}
	if o.out.structured() {
		s.APIVersion, s.Kind = v1alpha1.GroupVersion.String(), "Schedule"
		return o.out.print(w, s)
	}
	fmt.Fprintf(w, "Schedule %s created in %s: %q\n", name, s.Namespace, s.Spec.Schedule)
	return nil
}
