package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

// TestCase_BD06 syncs a backup that a Schedule made, with owner references
// to it, into a cluster that reads the same location read-only: the synced
// Backup has no owner references, keeps the schedule's name as a label,
// is left alone by the garbage collector and restores.
//
// One control plane stands for both clusters, with a namespace and a
// server for each. That is a fair stand-in because a server sees only its
// own namespace and owner references are namespace-local: the garbage
// collector looks an owner up in its dependent's namespace, so for B's
// namespace cluster A's Schedule is as missing as it would be in another
// cluster. Two BackupLocations under one server would not do: the Schedule
// and its Backups would share a namespace, and the owner would exist.
func TestCase_BD06(t *testing.T) {
	a, b := newEnv(t), newEnv(t)
	b.dir = a.dir
	app := a.appNamespace(t)

	// Cluster A: the Schedule nightly, owner of its Backups, makes one
	// backup at its 01:00 tick on a fake clock.
	a.location(t, "main", a.dir, func(bl *v1alpha1.BackupLocation) { bl.Spec.Default = true })
	clk := clocktesting.NewFakePassiveClock(at("00:59:50"))
	a.serve(t, Options{Clock: clk})
	nightly := a.schedule(t, "nightly", v1alpha1.ScheduleSpec{Schedule: "0 1 * * *",
		UseOwnerReferences: true,
		Template:           v1alpha1.BackupTemplate{IncludeNamespaces: []string{app}}})
	a.waitSchedule(t, "nightly", nextIs(at("01:00:00")))
	clk.SetTime(at("01:00:05"))
	a.poke(t, nightly)
	const name = "nightly-20260504010000"
	made := a.waitBackup(t, name, time.Minute, terminal)
	if made.Status.Phase != v1alpha1.PhaseCompleted {
		t.Fatalf("backup in A %s: %s", made.Status.Phase, made.Status.FailureReason)
	}
	if refs := made.OwnerReferences; len(refs) != 1 || refs[0].UID != nightly.UID {
		t.Fatalf("backup in A has owners %v, want the Schedule", refs)
	}
	if _, err := os.Stat(filepath.Join(a.dir, "backups", name, "origin.json")); err != nil {
		t.Fatalf("origin of the backup: %v", err)
	}

	// Cluster B reads the location read-only and syncs the backup.
	b.location(t, "main", b.dir, func(bl *v1alpha1.BackupLocation) { bl.Spec.ReadOnly = true })
	b.serve(t, Options{})
	synced := b.waitBackup(t, name, time.Minute, terminal)
	checkSynced(t, synced)

	// A Backup of B that carries A's owner reference is what the garbage
	// collector removes; once it has, the collector has handled a dangling
	// reference in B's namespace, and the synced Backup must still be there.
	canary := &v1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Name: "gc-canary",
		Namespace: b.ns, OwnerReferences: made.OwnerReferences}}
	if err := b.c.Create(t.Context(), canary); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, func() error {
		err := b.get(t, canary.Name, &v1alpha1.Backup{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("the garbage collector left %s: %v", canary.Name, err)
	})
	time.Sleep(2 * time.Second) // two sync periods of B as well
	var after v1alpha1.Backup
	if err := b.get(t, name, &after); err != nil || after.UID != synced.UID {
		t.Fatalf("synced backup after the garbage collector ran: uid %s, %v", after.UID, err)
	}

	restoreInB(t, b, name, app)
}

// checkSynced checks the fields of a Backup synced from another cluster's
// scheduled backup.
func checkSynced(t *testing.T, s *v1alpha1.Backup) {
	t.Helper()
	tests := []struct {
		name string
		ok   bool
		got  any
	}{
		{"phase", s.Status.Phase == v1alpha1.PhaseCompleted, s.Status.Phase},
		{"synced", s.Annotations[v1alpha1.AnnotationSynced] == s.Status.UID, s.Annotations},
		{"no-owners", len(s.OwnerReferences) == 0, s.OwnerReferences},
		{"source-schedule", s.Labels[v1alpha1.LabelSourceSchedule] == "nightly", s.Labels},
		{"not-retained-here", s.Labels[v1alpha1.LabelSchedule] == "", s.Labels},
		{"scheduled-time", scheduledTime(s).Equal(at("01:00:00")), s.Annotations},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok {
				t.Errorf("synced backup: %v", tc.got)
			}
		})
	}
}

// restoreInB restores a synced backup into a new namespace of cluster B.
func restoreInB(t *testing.T, b *env, name, app string) {
	t.Helper()
	target := app + "-in-b"
	t.Cleanup(func() {
		_ = b.c.Delete(context.Background(), &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{Name: target}})
	})
	rs := &v1alpha1.Restore{
		ObjectMeta: metav1.ObjectMeta{Name: "from-a", Namespace: b.ns},
		Spec: v1alpha1.RestoreSpec{Backup: name,
			NamespaceMappings: map[string]string{app: target}},
	}
	if err := b.c.Create(t.Context(), rs); err != nil {
		t.Fatal(err)
	}
	if got := b.waitRestore(t, rs.Name); got.Status.Phase != v1alpha1.PhaseCompleted {
		t.Fatalf("restore in B %s: %s", got.Status.Phase, got.Status.FailureReason)
	}
	var cm corev1.ConfigMap
	err := b.c.Get(t.Context(), client.ObjectKey{Namespace: target, Name: "settings"}, &cm)
	if err != nil || cm.Data["color"] != "blue" {
		t.Errorf("restored ConfigMap in B: %v, %v", cm.Data, err)
	}
}
