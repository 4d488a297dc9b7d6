package server

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/backup"
	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

// locationReconciler checks BackupLocations and syncs them: every backup
// published in a location that has no Backup resource of its name gets
// one, so that a cluster sees, and can restore, what other clusters or the
// CLI wrote there. Sync never deletes: a Backup whose data is gone from its
// location gets the condition InLocation=False instead.
type locationReconciler struct{ *deps }

func (r *locationReconciler) setup(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.BackupLocation{}).
		Named("backuplocation").
		Complete(r)
}

// Reconcile checks and syncs one BackupLocation, then waits a sync period.
func (r *locationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var bl v1alpha1.BackupLocation
	if err := r.client.Get(ctx, req.NamespacedName, &bl); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	period := r.sync
	if p := bl.Spec.SyncPeriod; p != nil && p.Duration > 0 {
		period = p.Duration
	}
	st := bl.Status.DeepCopy()
	st.LastSyncTime = now(r.clock)

	err := r.syncLocation(ctx, &bl, st)
	if err != nil {
		st.Phase = v1alpha1.LocationUnavailable
		st.Message = err.Error()
		setCondition(&st.Conditions, v1alpha1.ConditionAvailable, false, "Unreachable",
			err.Error(), bl.Generation)
	} else {
		st.Phase = v1alpha1.LocationAvailable
		st.Message = ""
		setCondition(&st.Conditions, v1alpha1.ConditionAvailable, true, "Reachable", "",
			bl.Generation)
	}
	if st.Phase != bl.Status.Phase {
		r.log.Info("backup location checked", "location", bl.Name, "namespace", bl.Namespace,
			"phase", st.Phase, "message", st.Message)
	}
	bl.Status = *st
	if err := r.client.Status().Update(ctx, &bl); err != nil {
		return requeueOnConflict(err)
	}
	return ctrl.Result{RequeueAfter: period}, nil
}

// syncLocation lists the location's backups and brings the Backup
// resources in line. It returns an error only when the location cannot be
// used; backups it cannot read are reported in the Synced condition.
func (r *locationReconciler) syncLocation(ctx context.Context, bl *v1alpha1.BackupLocation,
	st *v1alpha1.BackupLocationStatus) error {
	loc, err := r.openLocation(ctx, bl)
	if err != nil {
		return err
	}
	defer func() { _ = loc.Close() }()
	// A stat of a key that never exists answers whether the location can be
	// reached at all, apart from the state of any one backup in it.
	if _, err := loc.Exists(ctx, backup.ManifestKey("cairn-reachability")); err != nil {
		return err
	}
	manifests, listErr := backup.List(ctx, loc)
	st.Backups = len(manifests)
	r.metrics.locationBackup.WithLabelValues(bl.Name).Set(float64(len(manifests)))

	var list v1alpha1.BackupList
	if err := r.client.List(ctx, &list, client.InNamespace(bl.Namespace)); err != nil {
		return fmt.Errorf("list backups: %w", err)
	}
	existing := map[string]*v1alpha1.Backup{}
	for i := range list.Items {
		existing[list.Items[i].Name] = &list.Items[i]
	}

	var problems []string
	if listErr != nil {
		problems = append(problems, listErr.Error())
	}
	for _, m := range manifests {
		b, ok := existing[m.Name]
		if !ok {
			if err := r.createSynced(ctx, bl, loc, m); err != nil {
				problems = append(problems, err.Error())
			}
			continue
		}
		if other := locationOf(b); other != "" && other != bl.Name {
			problems = append(problems, fmt.Sprintf(
				"backup %s is also the Backup of BackupLocation %s", m.Name, other))
		}
	}
	if listErr == nil {
		r.markInLocation(ctx, bl, list.Items, manifests)
	}
	if len(problems) > 0 {
		setCondition(&st.Conditions, v1alpha1.ConditionSynced, false, "Incomplete",
			strings.Join(problems, "; "), bl.Generation)
	} else {
		setCondition(&st.Conditions, v1alpha1.ConditionSynced, true, "Synced", "",
			bl.Generation)
	}
	return nil
}

// createSynced makes the Backup resource of a backup found in a location.
// The backup reconciler fills its status from the manifest. It has no
// owner: whatever owned it in the cluster that wrote it (its Schedule) does
// not exist here, and the garbage collector would delete a Backup whose
// owner is missing. The source schedule's name is kept as a label instead.
func (r *locationReconciler) createSynced(ctx context.Context, bl *v1alpha1.BackupLocation,
	loc *location.Location, m *archive.Manifest) error {
	from, err := readOrigin(ctx, loc, m.Name)
	if err != nil {
		return err
	}
	t := templateOf(m.Spec)
	t.Location = bl.Name
	b := &v1alpha1.Backup{
		ObjectMeta: metav1.ObjectMeta{
			Name:        m.Name,
			Namespace:   bl.Namespace,
			Labels:      map[string]string{v1alpha1.LabelLocation: bl.Name},
			Annotations: map[string]string{v1alpha1.AnnotationSynced: m.UID},
		},
		Spec: v1alpha1.BackupSpec{BackupTemplate: t},
	}
	from.label(b)
	err = r.client.Create(ctx, b)
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create Backup %s: %w", m.Name, err)
	}
	r.log.Info("backup synced from location", "backup", m.Name, "namespace", bl.Namespace,
		"location", bl.Name)
	return nil
}

// markInLocation sets InLocation on the location's finished Backups: False
// for those whose backup is no longer in it.
func (r *locationReconciler) markInLocation(ctx context.Context, bl *v1alpha1.BackupLocation,
	backups []v1alpha1.Backup, manifests []*archive.Manifest) {
	present := map[string]bool{}
	for _, m := range manifests {
		present[m.Name] = true
	}
	for i := range backups {
		b := &backups[i]
		if b.Status.Location != bl.Name || !b.Status.Phase.Succeeded() ||
			!b.DeletionTimestamp.IsZero() {
			continue
		}
		cond := meta.FindStatusCondition(b.Status.Conditions, v1alpha1.ConditionInLocation)
		in := present[b.Name]
		if cond == nil && in || cond != nil && (cond.Status == metav1.ConditionTrue) == in {
			continue
		}
		msg := ""
		if !in {
			msg = "the backup is no longer in BackupLocation " + bl.Name
		}
		setCondition(&b.Status.Conditions, v1alpha1.ConditionInLocation, in, "Listed", msg,
			b.Generation)
		if err := r.client.Status().Update(ctx, b); err != nil && !apierrors.IsConflict(err) {
			r.log.Warn("backup condition not written", "backup", b.Name,
				"namespace", b.Namespace, "err", err)
		}
	}
}

// locationOf is the BackupLocation a Backup belongs to.
func locationOf(b *v1alpha1.Backup) string {
	if b.Status.Location != "" {
		return b.Status.Location
	}
	return b.Spec.Location
}

func setCondition(conds *[]metav1.Condition, typ string, ok bool, why, msg string, gen int64) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(conds, metav1.Condition{Type: typ, Status: status, Reason: why,
		Message: msg, ObservedGeneration: gen})
}
