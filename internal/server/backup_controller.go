package server

import (
	"context"
	"errors"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/cairn-backup/cairn/internal/backup"
	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/internal/selection"
	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

// backupFinalizer holds a Backup until its data is removed from its
// location, so that deleting the resource deletes the backup.
const backupFinalizer = "cairn.dev/backup-data"

// maxRequeue bounds how far ahead a reconcile is scheduled, so that a
// clock that jumps (or a fake one) is looked at again.
const maxRequeue = time.Hour

// backupReconciler runs Backups.
//
// Phases: "" or New → InProgress (the run started) → Completed,
// PartiallyFailed or Failed (the run wrote its outcome); New →
// FailedValidation when the spec is refused. A terminal Backup with an
// expiration is deleted when it expires.
type backupReconciler struct {
	*deps
	runs *runs
}

func (r *backupReconciler) setup(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Backup{}).
		Named("backup").
		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
		Complete(r)
}

// Reconcile moves one Backup a step on.
func (r *backupReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var b v1alpha1.Backup
	if err := r.client.Get(ctx, req.NamespacedName, &b); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !b.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, &b)
	}
	if controllerutil.AddFinalizer(&b, backupFinalizer) {
		return requeueOnConflict(r.client.Update(ctx, &b))
	}
	switch b.Status.Phase {
	case "", v1alpha1.PhaseNew:
		if b.Annotations[v1alpha1.AnnotationSynced] != "" {
			return r.adopt(ctx, &b)
		}
		return r.start(ctx, &b)
	case v1alpha1.PhaseInProgress:
		return r.check(ctx, &b)
	}
	return r.expire(ctx, &b)
}

// start validates a new Backup, marks it InProgress and starts its run.
func (r *backupReconciler) start(ctx context.Context, b *v1alpha1.Backup) (ctrl.Result, error) {
	if r.runs.get(b.UID) != nil {
		return ctrl.Result{}, nil // the cache has not seen InProgress yet
	}
	bl, err := r.resolveLocation(ctx, b.Spec.Location)
	if err == nil {
		err = validateBackup(b, bl)
	}
	if errors.Is(err, errInvalid) {
		return r.end(ctx, b, v1alpha1.PhaseFailedValidation, reason(err))
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if b.Spec.Cancel {
		return r.end(ctx, b, v1alpha1.PhaseFailed, "cancelled before it started")
	}
	keys, err := r.keys(ctx, bl)
	if errors.Is(err, errInvalid) {
		return r.end(ctx, b, v1alpha1.PhaseFailedValidation, reason(err))
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	loc, err := r.openLocation(ctx, bl)
	if err != nil {
		return r.end(ctx, b, v1alpha1.PhaseFailed, err.Error())
	}

	b.Status.Phase = v1alpha1.PhaseInProgress
	b.Status.StartTime = now(r.clock)
	b.Status.Location = bl.Name
	b.Status.ObservedGeneration = b.Generation
	if err := r.client.Status().Update(ctx, b); err != nil {
		_ = loc.Close()
		return requeueOnConflict(err)
	}
	r.log.Info("backup started", "backup", b.Name, "namespace", b.Namespace,
		"location", bl.Name)
	job := b.DeepCopy()
	r.runs.start(b.UID, func(ctx context.Context) finisher {
		return r.execute(ctx, job, loc, keys)
	})
	return ctrl.Result{}, nil
}

// validateBackup checks what the engine would refuse only after the Backup
// was marked InProgress.
func validateBackup(b *v1alpha1.Backup, bl *v1alpha1.BackupLocation) error {
	if err := backup.ValidateName(b.Name); err != nil {
		return invalidf("%v", err)
	}
	if bl.Spec.ReadOnly {
		return invalidf("BackupLocation %s is read-only", bl.Name)
	}
	t := b.Spec.BackupTemplate
	if _, err := selection.NewLabels(t.Selector, t.OrSelectors); err != nil {
		return invalidf("%v", err)
	}
	if _, err := selection.NewNamespaces(t.IncludeNamespaces, t.ExcludeNamespaces); err != nil {
		return invalidf("%v", err)
	}
	if t.TTL != nil && t.TTL.Duration < 0 {
		return invalidf("spec.ttl %s is negative", t.TTL.Duration)
	}
	if t.Timeout != nil && t.Timeout.Duration < 0 {
		return invalidf("spec.timeout %s is negative", t.Timeout.Duration)
	}
	return nil
}

// check looks after an InProgress Backup: it passes a cancel on to the
// run, and ends a Backup that no run of this server holds.
func (r *backupReconciler) check(ctx context.Context, b *v1alpha1.Backup) (ctrl.Result, error) {
	run := r.runs.get(b.UID)
	if run == nil {
		return r.recover(ctx, b)
	}
	if run.finished() {
		run.write(ctx)
		if !run.written {
			return ctrl.Result{RequeueAfter: 5 * time.Second}, nil
		}
		return ctrl.Result{}, nil
	}
	if b.Spec.Cancel {
		r.log.Info("backup cancel requested", "backup", b.Name, "namespace", b.Namespace)
		run.cancel(errCancelled)
	}
	return ctrl.Result{}, nil
}

// expire deletes a finished Backup whose TTL ran out.
func (r *backupReconciler) expire(ctx context.Context, b *v1alpha1.Backup) (ctrl.Result, error) {
	r.runs.forget(b.UID)
	exp := b.Status.Expiration
	if exp == nil {
		return ctrl.Result{}, nil
	}
	if wait := exp.Sub(r.clock.Now()); wait > 0 {
		return ctrl.Result{RequeueAfter: min(wait, maxRequeue)}, nil
	}
	r.log.Info("backup expired", "backup", b.Name, "namespace", b.Namespace,
		"expiration", exp.Time)
	r.metrics.retentionGone.WithLabelValues("ttl").Inc()
	return ctrl.Result{}, client.IgnoreNotFound(r.client.Delete(ctx, b))
}

// finalize stops the run of a deleted Backup, removes its data from the
// location and lets the resource go.
func (r *backupReconciler) finalize(ctx context.Context, b *v1alpha1.Backup) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(b, backupFinalizer) {
		return ctrl.Result{}, nil
	}
	if run := r.runs.get(b.UID); run != nil && !run.finished() {
		run.cancel(errDeleted)
		select {
		case <-run.done:
		case <-time.After(30 * time.Second):
			return ctrl.Result{RequeueAfter: time.Second}, nil
		case <-ctx.Done():
			return ctrl.Result{}, ctx.Err()
		}
	}
	if err := r.removeData(ctx, b); err != nil {
		return ctrl.Result{}, err
	}
	controllerutil.RemoveFinalizer(b, backupFinalizer)
	if err := r.client.Update(ctx, b); err != nil && !apierrors.IsNotFound(err) {
		return requeueOnConflict(err)
	}
	r.runs.forget(b.UID)
	r.log.Info("backup deleted", "backup", b.Name, "namespace", b.Namespace)
	return ctrl.Result{}, nil
}

// end records a Backup that never ran.
func (r *backupReconciler) end(ctx context.Context, b *v1alpha1.Backup, phase v1alpha1.Phase,
	why string) (ctrl.Result, error) {
	o := outcome{phase: phase, reason: why}
	r.log.Warn("backup refused", "backup", b.Name, "namespace", b.Namespace,
		"phase", phase, "reason", why)
	r.metrics.runs.WithLabelValues("backup", string(phase)).Inc()
	return ctrl.Result{}, r.writeBackup(ctx, b, o)
}

// withLocation runs fn with the opened location of a Backup's BackupLocation.
func (r *backupReconciler) withLocation(ctx context.Context, name string,
	fn func(*v1alpha1.BackupLocation, *location.Location) error) error {
	bl, err := r.resolveLocation(ctx, name)
	if err != nil {
		return err
	}
	loc, err := r.openLocation(ctx, bl)
	if err != nil {
		return err
	}
	defer func() { _ = loc.Close() }()
	return fn(bl, loc)
}

// requeueOnConflict turns a write conflict, which only means the cache was
// behind, into a quiet retry.
func requeueOnConflict(err error) (ctrl.Result, error) {
	if apierrors.IsConflict(err) {
		return ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
	}
	return ctrl.Result{}, err
}
