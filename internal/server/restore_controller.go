package server

import (
	"context"
	"errors"
	"time"

	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/cairn-backup/cairn/internal/backup"
	"github.com/cairn-backup/cairn/internal/crypt"
	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/internal/restore"
	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

// restoreReconciler runs Restores with the restore engine.
//
// Phases: "" or New → InProgress → Completed, PartiallyFailed or Failed;
// FailedValidation when the Backup cannot be restored. A Restore left
// InProgress by a dead server ends Failed: objects it created stay, and a
// new Restore (with the update policy, if wanted) finishes the work.
// Deleting a running Restore cancels it; it has no finalizer, because what
// it restored belongs to the cluster, not to the Restore.
type restoreReconciler struct {
	*deps
	runs *runs
}

func (r *restoreReconciler) setup(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Restore{}).
		Named("restore").
		WithOptions(controller.Options{MaxConcurrentReconciles: 2}).
		Complete(r)
}

// Reconcile moves one Restore a step on.
func (r *restoreReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var rs v1alpha1.Restore
	if err := r.client.Get(ctx, req.NamespacedName, &rs); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	run := r.runs.get(rs.UID)
	switch {
	case !rs.DeletionTimestamp.IsZero():
		if run != nil {
			run.cancel(errDeleted)
		}
		return ctrl.Result{}, nil
	case rs.Status.Phase == "" || rs.Status.Phase == v1alpha1.PhaseNew:
		if run != nil {
			return ctrl.Result{}, nil // the cache has not seen InProgress yet
		}
		return r.start(ctx, &rs)
	case rs.Status.Phase == v1alpha1.PhaseInProgress && run == nil:
		return ctrl.Result{}, r.writeRestore(ctx, &rs, outcome{phase: v1alpha1.PhaseFailed,
			reason: errRestarted.Error()})
	case rs.Status.Phase == v1alpha1.PhaseInProgress && run.finished():
		run.write(ctx)
		if !run.written {
			return ctrl.Result{RequeueAfter: 5 * time.Second}, nil
		}
	case rs.Status.Phase == v1alpha1.PhaseInProgress && rs.Spec.Cancel:
		run.cancel(errCancelled)
	case rs.Status.Phase.Terminal():
		r.runs.forget(rs.UID)
	}
	return ctrl.Result{}, nil
}

// start checks a new Restore, marks it InProgress and starts its run.
func (r *restoreReconciler) start(ctx context.Context, rs *v1alpha1.Restore) (ctrl.Result, error) {
	bl, keys, err := r.restoreSource(ctx, rs)
	if errors.Is(err, errInvalid) {
		return ctrl.Result{}, r.writeRestore(ctx, rs, outcome{
			phase: v1alpha1.PhaseFailedValidation, reason: reason(err)})
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if rs.Spec.Cancel {
		return ctrl.Result{}, r.writeRestore(ctx, rs, outcome{phase: v1alpha1.PhaseFailed,
			reason: "cancelled before it started"})
	}
	loc, err := r.openLocation(ctx, bl)
	if err != nil {
		return ctrl.Result{}, r.writeRestore(ctx, rs, outcome{phase: v1alpha1.PhaseFailed,
			reason: err.Error()})
	}

	rs.Status.Phase = v1alpha1.PhaseInProgress
	rs.Status.StartTime = now(r.clock)
	rs.Status.ObservedGeneration = rs.Generation
	if err := r.client.Status().Update(ctx, rs); err != nil {
		_ = loc.Close()
		return requeueOnConflict(err)
	}
	r.log.Info("restore started", "restore", rs.Name, "namespace", rs.Namespace,
		"backup", rs.Spec.Backup)
	job := rs.DeepCopy()
	r.runs.start(rs.UID, func(ctx context.Context) finisher {
		return r.execute(ctx, job, loc, keys)
	})
	return ctrl.Result{}, nil
}

// restoreSource finds the BackupLocation and keys of a Restore's Backup.
func (r *restoreReconciler) restoreSource(ctx context.Context,
	rs *v1alpha1.Restore) (*v1alpha1.BackupLocation, crypt.Keys, error) {
	var b v1alpha1.Backup
	err := r.reader.Get(ctx, client.ObjectKey{Namespace: rs.Namespace, Name: rs.Spec.Backup}, &b)
	if client.IgnoreNotFound(err) == nil && err != nil {
		return nil, crypt.Keys{}, invalidf("Backup %s/%s does not exist", rs.Namespace,
			rs.Spec.Backup)
	}
	if err != nil {
		return nil, crypt.Keys{}, err
	}
	if !b.Status.Phase.Succeeded() {
		return nil, crypt.Keys{}, invalidf("Backup %s is %s, not Completed or "+
			"PartiallyFailed", b.Name, b.Status.Phase)
	}
	bl, err := r.resolveLocation(ctx, locationOf(&b))
	if err != nil {
		return nil, crypt.Keys{}, err
	}
	keys, err := r.keys(ctx, bl)
	return bl, keys, err
}

// execute runs the restore engine for one Restore and returns the writer
// of its final status.
func (r *restoreReconciler) execute(ctx context.Context, rs *v1alpha1.Restore,
	loc *location.Location, keys crypt.Keys) finisher {
	defer func() { _ = loc.Close() }()
	ctx, endTimeout := withTimeout(ctx, rs.Spec.Timeout)
	defer endTimeout()
	r.metrics.inProgress.WithLabelValues("restore").Inc()
	defer r.metrics.inProgress.WithLabelValues("restore").Dec()
	started := time.Now()

	prog := &restore.Progress{}
	rec, err := restore.Run(ctx, restore.Request{
		Name:     rs.Name + "-" + string(rs.UID)[:8],
		Backup:   rs.Spec.Backup,
		Spec:     restoreSpec(rs.Spec),
		Cluster:  r.engine,
		Location: loc,
		Keys:     keys,
		TempDir:  r.tempDir,
		Logger:   r.log.With("restore", rs.Name, "namespace", rs.Namespace),
		Progress: prog,
		Clock:    r.clock.Now,
	})
	o := restoreOutcome(rec, err, context.Cause(ctx))
	o.progress = &v1alpha1.Progress{ItemsDone: prog.Done.Load(), ItemsTotal: prog.Total.Load(),
		Objects: prog.Done.Load()}
	r.log.Info("restore ended", "restore", rs.Name, "namespace", rs.Namespace,
		"phase", o.phase, "reason", o.reason)
	r.metrics.runs.WithLabelValues("restore", string(o.phase)).Inc()
	r.metrics.duration.WithLabelValues("restore").Observe(time.Since(started).Seconds())
	if rec != nil {
		r.metrics.objects.WithLabelValues("restore").Add(float64(rec.Counts.Created +
			rec.Counts.Updated))
	}
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		o.warnings, o.errors = problemCounts(rec)
		return r.writeRestore(ctx, rs, o)
	}
}

func problemCounts(rec *restore.Record) (warnings, errs int) {
	if rec == nil {
		return 0, 0
	}
	return len(rec.Warnings), len(rec.Errors)
}

// restoreOutcome maps the engine's result to a phase and reason.
func restoreOutcome(rec *restore.Record, err, cause error) outcome {
	switch {
	case err == nil:
		return outcome{phase: v1alpha1.Phase(rec.Phase)}
	case cause != nil:
		return outcome{phase: v1alpha1.PhaseFailed, reason: cause.Error(),
			cancelled: errors.Is(cause, errCancelled) || errors.Is(cause, errDeleted)}
	case errors.Is(err, restore.ErrBackupUnusable), errors.Is(err, backup.ErrNotFound):
		return outcome{phase: v1alpha1.PhaseFailedValidation, reason: err.Error()}
	}
	return outcome{phase: v1alpha1.PhaseFailed, reason: err.Error()}
}

func restoreSpec(s v1alpha1.RestoreSpec) restore.Spec {
	return restore.Spec{
		IncludeNamespaces:       s.IncludeNamespaces,
		ExcludeNamespaces:       s.ExcludeNamespaces,
		IncludeResources:        s.IncludeResources,
		ExcludeResources:        s.ExcludeResources,
		Selector:                s.Selector,
		OrSelectors:             s.OrSelectors,
		IncludeClusterResources: s.IncludeClusterResources,
		NamespaceMappings:       s.NamespaceMappings,
		StorageClassMappings:    s.StorageClassMappings,
		ExistingResourcePolicy:  s.ExistingResourcePolicy,
		RestoreStatus:           s.RestoreStatus,
		PreserveNodePorts:       s.PreserveNodePorts,
		DryRun:                  s.DryRun,
	}
}

// writeRestore records the end of a Restore, reading it afresh on every
// try. A Restore that is gone needs nothing.
func (d *deps) writeRestore(ctx context.Context, rs *v1alpha1.Restore, o outcome) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var cur v1alpha1.Restore
		if err := d.reader.Get(ctx, client.ObjectKeyFromObject(rs), &cur); err != nil {
			return err
		}
		if cur.UID != rs.UID || cur.Status.Phase.Terminal() {
			return nil
		}
		st := &cur.Status
		st.Phase, st.FailureReason = o.phase, o.reason
		st.CompletionTime = now(d.clock)
		st.ObservedGeneration = cur.Generation
		st.Warnings, st.Errors = o.warnings, o.errors
		if o.progress != nil {
			st.Progress = o.progress
		}
		setCondition(&st.Conditions, v1alpha1.ConditionCompleted, true, string(o.phase),
			o.reason, cur.Generation)
		if o.cancelled {
			setCondition(&st.Conditions, v1alpha1.ConditionCancelled, true, "Cancelled",
				o.reason, cur.Generation)
		}
		return d.client.Status().Update(ctx, &cur)
	})
	if err != nil {
		return client.IgnoreNotFound(err)
	}
	kind := "Normal"
	if !o.phase.Succeeded() {
		kind = "Warning"
	}
	d.events.Eventf(rs, nil, kind, string(o.phase), "Restore", "%s %s", o.phase, o.reason)
	return nil
}
