package server

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/backup"
	"github.com/cairn-backup/cairn/internal/crypt"
	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/internal/selection"
	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

// errRestarted is the failure reason of a run a previous server process
// left InProgress.
var errRestarted = errors.New("the server restarted during the run")

// outcome is how a run ended, as its status records it.
type outcome struct {
	phase    v1alpha1.Phase
	reason   string
	manifest *archive.Manifest
	progress *v1alpha1.Progress
	// cancelled is true when a user stopped the run.
	cancelled bool
	// warnings and errors count a restore's problems; a backup's come
	// from its manifest.
	warnings, errors int
}

// execute runs the engine for one Backup and returns the writer of its
// final status.
func (r *backupReconciler) execute(ctx context.Context, b *v1alpha1.Backup,
	loc *location.Location, keys crypt.Keys) finisher {
	defer func() { _ = loc.Close() }()
	ctx, endTimeout := withTimeout(ctx, b.Spec.Timeout)
	defer endTimeout()
	r.metrics.inProgress.WithLabelValues("backup").Inc()
	defer r.metrics.inProgress.WithLabelValues("backup").Dec()
	log := r.log.With("backup", b.Name, "namespace", b.Namespace)
	started := time.Now()

	if err := writeOrigin(ctx, loc, b); err != nil {
		log.Warn("backup origin not recorded", "err", err)
	}
	prog := &backup.Progress{}
	stop := r.reportProgress(ctx, b, prog)
	m, err := backup.Run(ctx, backup.Request{
		Name:     b.Name,
		Spec:     archiveSpec(b.Spec.BackupTemplate),
		Cluster:  r.engine,
		Location: loc,
		TempDir:  r.tempDir,
		Logger:   r.log.With("namespace", b.Namespace),
		Keys:     keys,
		Progress: prog,
		Clock:    r.clock.Now,
	})
	stop()

	o := backupOutcome(m, err, context.Cause(ctx))
	o.progress = progressOf(prog)
	log.Info("backup ended", "phase", o.phase, "reason", o.reason,
		"objects", o.progress.Objects, "bytes", o.progress.Bytes)
	r.metrics.runs.WithLabelValues("backup", string(o.phase)).Inc()
	r.metrics.duration.WithLabelValues("backup").Observe(time.Since(started).Seconds())
	if m != nil {
		r.metrics.objects.WithLabelValues("backup").Add(float64(m.Totals.Objects))
		r.metrics.bytes.Add(float64(m.Totals.Bytes))
	}
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		err := r.writeBackup(ctx, b, o)
		if err != nil {
			log.Error("backup status not written", "err", err)
		}
		return err
	}
}

// backupOutcome maps the engine's result, and the cause of a cancelled
// context, to a phase and reason.
func backupOutcome(m *archive.Manifest, err, cause error) outcome {
	switch {
	case err == nil:
		return outcome{phase: v1alpha1.Phase(m.Phase), manifest: m}
	case cause != nil:
		return outcome{phase: v1alpha1.PhaseFailed, reason: cause.Error(),
			cancelled: errors.Is(cause, errCancelled) || errors.Is(cause, errDeleted)}
	case errors.Is(err, backup.ErrExists), errors.Is(err, selection.ErrUnknownResource):
		return outcome{phase: v1alpha1.PhaseFailedValidation, reason: err.Error()}
	}
	return outcome{phase: v1alpha1.PhaseFailed, reason: err.Error()}
}

func progressOf(p *backup.Progress) *v1alpha1.Progress {
	return &v1alpha1.Progress{
		ItemsDone:  p.TypesDone.Load(),
		ItemsTotal: p.Types.Load(),
		Objects:    p.Objects.Load(),
		Bytes:      p.Bytes.Load(),
	}
}

// reportProgress copies a run's counters into the Backup's status every
// progress interval until the returned stop is called.
func (r *backupReconciler) reportProgress(ctx context.Context, b *v1alpha1.Backup,
	p *backup.Progress) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(r.progress)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			patch := []byte(fmt.Sprintf(`{"status":{"progress":{"itemsDone":%d,`+
				`"itemsTotal":%d,"objects":%d,"bytes":%d}}}`,
				p.TypesDone.Load(), p.Types.Load(), p.Objects.Load(), p.Bytes.Load()))
			err := r.client.Status().Patch(ctx, b.DeepCopy(),
				client.RawPatch("application/merge-patch+json", patch))
			if err != nil && ctx.Err() == nil {
				r.log.Debug("backup progress not written", "backup", b.Name,
					"namespace", b.Namespace, "err", err)
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// writeBackup records the end of a run in the Backup's status, reading the
// resource afresh on every try. A Backup that is gone needs nothing.
func (d *deps) writeBackup(ctx context.Context, b *v1alpha1.Backup, o outcome) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var cur v1alpha1.Backup
		if err := d.reader.Get(ctx, client.ObjectKeyFromObject(b), &cur); err != nil {
			return err
		}
		if cur.UID != b.UID || cur.Status.Phase.Terminal() {
			return nil
		}
		applyOutcome(&cur, o, d.clock)
		return d.client.Status().Update(ctx, &cur)
	})
	if err != nil {
		return client.IgnoreNotFound(err)
	}
	kind := "Normal"
	if !o.phase.Succeeded() {
		kind = "Warning"
	}
	note := string(o.phase)
	if o.reason != "" {
		note += ": " + o.reason
	}
	d.events.Eventf(b, nil, kind, string(o.phase), "Backup", "%s", note)
	return nil
}

// applyOutcome sets the status fields of a run's end.
func applyOutcome(b *v1alpha1.Backup, o outcome, c clock.PassiveClock) {
	st := &b.Status
	st.Phase = o.phase
	st.FailureReason = o.reason
	st.CompletionTime = now(c)
	st.ObservedGeneration = b.Generation
	if o.progress != nil {
		st.Progress = o.progress
	}
	if m := o.manifest; m != nil {
		st.UID = m.UID
		st.ResourceVersion = m.ResourceVersion
		st.Warnings, st.Errors = len(m.Warnings), len(m.Errors)
		if st.Progress == nil {
			st.Progress = &v1alpha1.Progress{ItemsDone: int64(len(m.Types)),
				ItemsTotal: int64(len(m.Types))}
		}
		st.Progress.Objects, st.Progress.Bytes = int64(m.Totals.Objects), m.Totals.Bytes
	}
	if ttl := b.Spec.TTL; ttl != nil && ttl.Duration > 0 && o.phase.Succeeded() {
		st.Expiration = &metav1.Time{Time: st.CompletionTime.Add(ttl.Duration)}
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type:               v1alpha1.ConditionCompleted,
		Status:             metav1.ConditionTrue,
		Reason:             string(o.phase),
		Message:            o.reason,
		ObservedGeneration: b.Generation,
	})
	if o.cancelled {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type: v1alpha1.ConditionCancelled, Status: metav1.ConditionTrue,
			Reason: "Cancelled", Message: o.reason, ObservedGeneration: b.Generation,
		})
	}
}

// recover ends a Backup that a previous server process left InProgress:
// Completed from its manifest when the run got as far as publishing,
// Failed otherwise, with what the run left in the location removed.
func (r *backupReconciler) recover(ctx context.Context, b *v1alpha1.Backup) (ctrl.Result, error) {
	log := r.log.With("backup", b.Name, "namespace", b.Namespace)
	o := outcome{phase: v1alpha1.PhaseFailed, reason: errRestarted.Error()}
	err := r.withLocation(ctx, b.Status.Location, func(_ *v1alpha1.BackupLocation,
		loc *location.Location) error {
		m, err := backup.Get(ctx, loc, b.Name)
		switch {
		case err == nil && ours(m, b):
			o = outcome{phase: v1alpha1.Phase(m.Phase), manifest: m}
			return nil
		case err == nil:
			return nil
		case errors.Is(err, backup.ErrNotFound):
			return removeLeftovers(ctx, loc, b.Name)
		}
		return err
	})
	if err != nil && !errors.Is(err, errInvalid) {
		log.Warn("backup location not reachable while recovering the backup", "err", err)
	}
	log.Info("backup recovered after a restart", "phase", o.phase, "reason", o.reason)
	r.metrics.runs.WithLabelValues("backup", string(o.phase)).Inc()
	return ctrl.Result{}, r.writeBackup(ctx, b, o)
}

// adopt fills the status of a Backup that sync created for a backup found
// in a location.
func (r *backupReconciler) adopt(ctx context.Context, b *v1alpha1.Backup) (ctrl.Result, error) {
	var o outcome
	err := r.withLocation(ctx, b.Spec.Location, func(bl *v1alpha1.BackupLocation,
		loc *location.Location) error {
		m, err := backup.Get(ctx, loc, b.Name)
		if errors.Is(err, backup.ErrNotFound) {
			o = outcome{phase: v1alpha1.PhaseFailed,
				reason: "the backup is no longer in BackupLocation " + bl.Name}
			return nil
		}
		if err != nil {
			return err
		}
		o = outcome{phase: v1alpha1.Phase(m.Phase), manifest: m}
		return nil
	})
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var cur v1alpha1.Backup
		if err := r.reader.Get(ctx, client.ObjectKeyFromObject(b), &cur); err != nil {
			return client.IgnoreNotFound(err)
		}
		if cur.Status.Phase != "" {
			return nil
		}
		applyOutcome(&cur, o, r.clock)
		cur.Status.Location = b.Spec.Location
		if m := o.manifest; m != nil {
			cur.Status.StartTime = &metav1.Time{Time: m.StartTime}
			cur.Status.CompletionTime = &metav1.Time{Time: m.EndTime}
		}
		return r.client.Status().Update(ctx, &cur)
	})
}

// removeData deletes a deleted Backup's data from its location: the
// published backup when this resource made or adopted it, or what an
// unpublished run of it left. Read-only locations are never written, and a
// backup of the same name that this resource did not make is left alone.
func (r *backupReconciler) removeData(ctx context.Context, b *v1alpha1.Backup) error {
	switch b.Status.Phase {
	case "", v1alpha1.PhaseNew, v1alpha1.PhaseFailedValidation:
		return nil
	}
	if b.Status.Location == "" {
		return nil
	}
	err := r.withLocation(ctx, b.Status.Location, func(bl *v1alpha1.BackupLocation,
		loc *location.Location) error {
		if bl.Spec.ReadOnly {
			return nil
		}
		m, err := backup.Get(ctx, loc, b.Name)
		switch {
		case err == nil && ours(m, b):
			return backup.Delete(ctx, loc, b.Name)
		case err == nil:
			return nil
		case errors.Is(err, backup.ErrNotFound):
			return removeLeftovers(ctx, loc, b.Name)
		}
		return err
	})
	if errors.Is(err, errInvalid) {
		// The BackupLocation is gone; there is nowhere to delete from.
		return nil
	}
	return err
}

// ours reports whether a published backup is the one a Backup resource
// made or adopted. A run publishes only under a name that was free when it
// started, so a manifest younger than the run is the run's.
func ours(m *archive.Manifest, b *v1alpha1.Backup) bool {
	if b.Status.UID != "" {
		return m.UID == b.Status.UID
	}
	start := b.Status.StartTime
	return start != nil && !m.StartTime.Before(start.Truncate(time.Second))
}

// removeLeftovers deletes the unpublished files of a backup name, which
// only a run that died leaves.
func removeLeftovers(ctx context.Context, loc *location.Location, name string) error {
	keys, err := loc.List(ctx, path.Dir(backup.ManifestKey(name))+"/", "")
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range keys {
		errs = append(errs, loc.Delete(ctx, k))
	}
	return errors.Join(errs...)
}

// archiveSpec is the engine's form of a backup template.
func archiveSpec(t v1alpha1.BackupTemplate) archive.Spec {
	return archive.Spec{
		IncludeNamespaces:       t.IncludeNamespaces,
		ExcludeNamespaces:       t.ExcludeNamespaces,
		IncludeResources:        t.IncludeResources,
		ExcludeResources:        t.ExcludeResources,
		Selector:                t.Selector,
		OrSelectors:             t.OrSelectors,
		IncludeClusterResources: t.IncludeClusterResources,
		IncludeEvents:           t.IncludeEvents,
	}
}

// templateOf is the resource form of a stored backup's spec.
func templateOf(s archive.Spec) v1alpha1.BackupTemplate {
	return v1alpha1.BackupTemplate{
		IncludeNamespaces:       s.IncludeNamespaces,
		ExcludeNamespaces:       s.ExcludeNamespaces,
		IncludeResources:        s.IncludeResources,
		ExcludeResources:        s.ExcludeResources,
		Selector:                s.Selector,
		OrSelectors:             s.OrSelectors,
		IncludeClusterResources: s.IncludeClusterResources,
		IncludeEvents:           s.IncludeEvents,
	}
}

func now(c clock.PassiveClock) *metav1.Time {
	return &metav1.Time{Time: c.Now().UTC().Truncate(time.Second)}
}
