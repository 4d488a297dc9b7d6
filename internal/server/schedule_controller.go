package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // time zones for schedules, also where the image has none

	"github.com/robfig/cron/v3"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

// scheduleReconciler fires Schedules and applies their retention.
//
// A Schedule's status holds its next tick. A reconcile at or after that
// tick creates the tick's Backup, named after the schedule and the tick,
// unless a Backup of the schedule is still running: then the tick is
// counted as skipped, not queued. Either way the next tick is computed from
// the current time, so ticks missed while the server was down or the
// schedule paused are not made up for. A spec change (pause, unpause, a new
// cron expression) recomputes the next tick from the current time.
type scheduleReconciler struct{ *deps }

func (r *scheduleReconciler) setup(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Schedule{}).
		Named("schedule").
		Watches(&v1alpha1.Backup{}, handler.EnqueueRequestsFromMapFunc(scheduleOf)).
		Complete(r)
}

// scheduleOf maps a Backup to the Schedule that made it, so that a Backup
// that ends or goes away brings its schedule's retention up to date.
func scheduleOf(_ context.Context, o client.Object) []reconcile.Request {
	name := o.GetLabels()[v1alpha1.LabelSchedule]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{
		Namespace: o.GetNamespace(), Name: name}}}
}

// Reconcile fires a Schedule when its tick has come and removes the
// backups its retention no longer keeps.
func (r *scheduleReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var s v1alpha1.Schedule
	if err := r.client.Get(ctx, req.NamespacedName, &s); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !s.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	st := s.Status.DeepCopy()
	sched, tz, err := parseSchedule(&s)
	if err != nil {
		st.Phase = v1alpha1.SchedulePhaseFailedValidation
		st.ValidationError = err.Error()
		st.NextScheduleTime = nil
		st.ObservedGeneration = s.Generation
		return ctrl.Result{}, r.writeSchedule(ctx, &s, st)
	}
	st.ValidationError = ""

	backups, err := r.backupsOf(ctx, &s)
	if err != nil {
		return ctrl.Result{}, err
	}
	wait, err := r.tick(ctx, &s, sched, backups, st)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.retain(ctx, &s, backups, tz, st); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.writeSchedule(ctx, &s, st); err != nil {
		return requeueOnConflict(err)
	}
	if wait > 0 {
		return ctrl.Result{RequeueAfter: min(wait, maxRequeue)}, nil
	}
	return ctrl.Result{}, nil
}

// tick creates the Backup of a tick that has come, or records it skipped,
// and returns how long until the next tick (0 when paused).
func (r *scheduleReconciler) tick(ctx context.Context, s *v1alpha1.Schedule,
	sched cron.Schedule, backups []v1alpha1.Backup,
	st *v1alpha1.ScheduleStatus) (time.Duration, error) {
	now := r.clock.Now()
	if s.Spec.Paused {
		st.Phase = v1alpha1.SchedulePhasePaused
		st.NextScheduleTime = nil
		st.ObservedGeneration = s.Generation
		return 0, nil
	}
	st.Phase = v1alpha1.SchedulePhaseEnabled
	if st.NextScheduleTime == nil || st.ObservedGeneration != s.Generation {
		st.ObservedGeneration = s.Generation
		st.NextScheduleTime = &metav1.Time{Time: sched.Next(now)}
		return st.NextScheduleTime.Sub(now), nil
	}
	tick := st.NextScheduleTime.Time
	if now.Before(tick) {
		return tick.Sub(now), nil
	}

	log := r.log.With("schedule", s.Name, "namespace", s.Namespace, "tick", tick)
	name := scheduledName(s.Name, tick)
	switch running := running(backups); {
	case hasBackup(backups, name):
		// Created by an earlier reconcile whose status write was lost.
		st.LastScheduleTime, st.LastBackup = &metav1.Time{Time: tick}, name
	case running != "":
		st.SkippedRuns++
		st.LastSkippedTime = &metav1.Time{Time: tick}
		r.metrics.skipped.WithLabelValues(s.Name).Inc()
		log.Info("schedule tick skipped", "running", running)
		r.events.Eventf(s, nil, "Normal", "Skipped", "Schedule",
			"tick %s skipped: backup %s is still running", tick.Format(time.RFC3339), running)
	default:
		if err := r.create(ctx, s, name, tick); err != nil {
			return 0, err
		}
		log.Info("scheduled backup created", "backup", name)
		st.LastScheduleTime, st.LastBackup = &metav1.Time{Time: tick}, name
	}
	st.NextScheduleTime = &metav1.Time{Time: sched.Next(now)}
	return st.NextScheduleTime.Sub(now), nil
}

// create makes the Backup of one tick.
func (r *scheduleReconciler) create(ctx context.Context, s *v1alpha1.Schedule, name string,
	tick time.Time) error {
	b := &v1alpha1.Backup{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: s.Namespace,
			Labels:    map[string]string{v1alpha1.LabelSchedule: s.Name},
			Annotations: map[string]string{
				v1alpha1.AnnotationScheduledTime: tick.UTC().Format(time.RFC3339),
			},
		},
		Spec: v1alpha1.BackupSpec{BackupTemplate: *s.Spec.Template.DeepCopy()},
	}
	if loc := s.Spec.Template.Location; loc != "" {
		b.Labels[v1alpha1.LabelLocation] = loc
	}
	if s.Spec.UseOwnerReferences {
		// No blockOwnerDeletion: that would need the right to set
		// finalizers on Schedules, and nothing waits for the Backups.
		b.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: v1alpha1.GroupVersion.String(),
			Kind:       "Schedule",
			Name:       s.Name,
			UID:        s.UID,
			Controller: ptr.To(true),
		}}
	}
	err := r.client.Create(ctx, b)
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("schedule %s: create backup %s: %w", s.Name, name, err)
	}
	r.events.Eventf(s, b, "Normal", "Created", "Schedule", "created backup %s", name)
	return nil
}

// retain deletes the backups the schedule's retention no longer keeps and
// records the newest successful one.
func (r *scheduleReconciler) retain(ctx context.Context, s *v1alpha1.Schedule,
	backups []v1alpha1.Backup, tz *time.Location, st *v1alpha1.ScheduleStatus) error {
	var items []retained
	var newest *v1alpha1.Backup
	for i := range backups {
		b := &backups[i]
		if !b.DeletionTimestamp.IsZero() || !b.Status.Phase.Terminal() {
			continue
		}
		at := scheduledTime(b)
		ok := b.Status.Phase.Succeeded()
		items = append(items, retained{name: b.Name, at: at, ok: ok})
		if ok && (newest == nil || at.After(scheduledTime(newest))) {
			newest = b
		}
	}
	if newest != nil {
		st.LastSuccessfulBackup = newest.Name
		if ct := newest.Status.CompletionTime; ct != nil {
			r.metrics.lastSuccess.WithLabelValues(s.Name).Set(float64(ct.Unix()))
		}
	}
	for _, name := range expired(s.Spec.Retention, items, tz) {
		b := &v1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.Namespace}}
		if err := r.client.Delete(ctx, b); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("schedule %s: delete expired backup %s: %w", s.Name, name, err)
		}
		r.metrics.retentionGone.WithLabelValues("retention").Inc()
		r.log.Info("backup removed by retention", "schedule", s.Name, "backup", name,
			"namespace", s.Namespace)
	}
	return nil
}

// backupsOf lists a schedule's Backups from the API server, not the cache:
// a Backup created a moment ago must count as running.
func (r *scheduleReconciler) backupsOf(ctx context.Context,
	s *v1alpha1.Schedule) ([]v1alpha1.Backup, error) {
	var list v1alpha1.BackupList
	err := r.reader.List(ctx, &list, client.InNamespace(s.Namespace),
		client.MatchingLabels{v1alpha1.LabelSchedule: s.Name})
	if err != nil {
		return nil, fmt.Errorf("schedule %s: list backups: %w", s.Name, err)
	}
	return list.Items, nil
}

func (r *scheduleReconciler) writeSchedule(ctx context.Context, s *v1alpha1.Schedule,
	st *v1alpha1.ScheduleStatus) error {
	if apiequality.Semantic.DeepEqual(&s.Status, st) {
		return nil
	}
	s.Status = *st
	return r.client.Status().Update(ctx, s)
}

// cronParser reads five-field expressions and descriptors (@daily,
// @every 1h).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month |
	cron.Dow | cron.Descriptor)

// ErrZoneInSchedule is returned by ParseCron for a schedule that starts
// with its time zone (TZ=... or CRON_TZ=...): a Schedule keeps its zone
// apart, in spec.timeZone.
var ErrZoneInSchedule = errors.New("time zone in the schedule")

// ParseCron reads a Schedule's spec.schedule as the server does, in UTC.
// cairn schedule create checks a schedule with it before sending it.
func ParseCron(expr string) (cron.Schedule, error) {
	expr = strings.TrimSpace(expr)
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, ErrZoneInSchedule
	}
	return cronParser.Parse(expr)
}

// parseSchedule checks a Schedule and returns its cron schedule in its
// time zone.
func parseSchedule(s *v1alpha1.Schedule) (cron.Schedule, *time.Location, error) {
	if errs := validation.IsValidLabelValue(s.Name); len(errs) > 0 {
		return nil, nil, fmt.Errorf("schedule name %q: %s", s.Name, errs[0])
	}
	expr := strings.TrimSpace(s.Spec.Schedule)
	sched, err := ParseCron(expr)
	if errors.Is(err, ErrZoneInSchedule) {
		return nil, nil, fmt.Errorf("schedule %q: give the time zone in spec.timeZone", expr)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("schedule %q: %w", expr, err)
	}
	tz := time.UTC
	if s.Spec.TimeZone != "" {
		if tz, err = time.LoadLocation(s.Spec.TimeZone); err != nil {
			return nil, nil, fmt.Errorf("time zone %q: %w", s.Spec.TimeZone, err)
		}
	}
	if spec, ok := sched.(*cron.SpecSchedule); ok {
		spec.Location = tz
	}
	b := &v1alpha1.Backup{Spec: v1alpha1.BackupSpec{BackupTemplate: s.Spec.Template}}
	b.Name = scheduledName(s.Name, time.Time{})
	if err := validateBackup(b, &v1alpha1.BackupLocation{}); err != nil {
		return nil, nil, fmt.Errorf("template: %s", reason(err))
	}
	return sched, tz, nil
}

// scheduledName is the name of the Backup of one tick.
func scheduledName(schedule string, tick time.Time) string {
	return schedule + "-" + tick.UTC().Format("20060102150405")
}

// scheduledTime is the tick that made a Backup, or its creation time.
func scheduledTime(b *v1alpha1.Backup) time.Time {
	at := b.Annotations[v1alpha1.AnnotationScheduledTime]
	if t, err := time.Parse(time.RFC3339, at); err == nil {
		return t
	}
	return b.CreationTimestamp.Time
}

func hasBackup(backups []v1alpha1.Backup, name string) bool {
	for _, b := range backups {
		if b.Name == name {
			return true
		}
	}
	return false
}

// running returns the name of a Backup of the list that has not ended.
func running(backups []v1alpha1.Backup) string {
	for _, b := range backups {
		if !b.Status.Phase.Terminal() {
			return b.Name
		}
	}
	return ""
}
