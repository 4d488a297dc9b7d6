package server

import (
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

// slowEngine makes every backup of the whole cluster take tens of seconds:
// the engine's client may send a few requests a second only.
var slowEngine = Options{EngineQPS: 3, EngineBurst: 1}

// started is true once a run has finished some of its types.
func started(b *v1alpha1.Backup) bool {
	return b.Status.Phase == v1alpha1.PhaseInProgress && b.Status.Progress != nil &&
		b.Status.Progress.ItemsDone > 0
}

// TestCase_BD25 cancels one running backup with spec.cancel and deletes
// another: each stops within seconds, publishes nothing and leaves no file
// in the location.
func TestCase_BD25(t *testing.T) {
	e := newEnv(t)
	e.location(t, "main", e.dir, func(bl *v1alpha1.BackupLocation) { bl.Spec.Default = true })
	e.serve(t, slowEngine)

	t.Run("cancel", func(t *testing.T) {
		e.backup(t, "cancelled", v1alpha1.BackupTemplate{})
		b := e.waitBackup(t, "cancelled", time.Minute, started)
		asked := time.Now()
		patch := []byte(`{"spec":{"cancel":true}}`)
		if err := e.c.Patch(t.Context(), b, client.RawPatch("application/merge-patch+json",
			patch)); err != nil {
			t.Fatal(err)
		}
		b = e.waitBackup(t, "cancelled", 10*time.Second, terminal)
		t.Logf("cancelled after %s", time.Since(asked))
		if b.Status.Phase != v1alpha1.PhaseFailed ||
			!strings.Contains(b.Status.FailureReason, "cancelled") {
			t.Errorf("phase %s, reason %q; want Failed, cancelled", b.Status.Phase,
				b.Status.FailureReason)
		}
		if !meta.IsStatusConditionTrue(b.Status.Conditions, v1alpha1.ConditionCancelled) {
			t.Errorf("conditions %v: want Cancelled", b.Status.Conditions)
		}
		if got := keysUnder(t, e.dir, "cancelled"); len(got) > 0 {
			t.Errorf("a cancelled backup left %v", got)
		}
	})

	t.Run("delete", func(t *testing.T) {
		e.backup(t, "deleted", v1alpha1.BackupTemplate{})
		b := e.waitBackup(t, "deleted", time.Minute, started)
		asked := time.Now()
		if err := e.c.Delete(t.Context(), b); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, func() error {
			err := e.get(t, "deleted", &v1alpha1.Backup{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return errString("Backup deleted still exists")
		})
		t.Logf("deleted after %s", time.Since(asked))
		if got := keysUnder(t, e.dir, "deleted"); len(got) > 0 {
			t.Errorf("a deleted backup left %v", got)
		}
	})

	t.Run("cancel-before-start", func(t *testing.T) {
		b := &v1alpha1.Backup{
			ObjectMeta: metav1.ObjectMeta{Name: "never", Namespace: e.ns},
			Spec:       v1alpha1.BackupSpec{Cancel: true},
		}
		if err := e.c.Create(t.Context(), b); err != nil {
			t.Fatal(err)
		}
		b = e.waitBackup(t, "never", 10*time.Second, terminal)
		if b.Status.Phase != v1alpha1.PhaseFailed || b.Status.StartTime != nil {
			t.Errorf("status %+v: want Failed without a start", b.Status)
		}
	})
}

type errString string

func (e errString) Error() string { return string(e) }
