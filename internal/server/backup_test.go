package server

import (
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

func TestBackupCompletes(t *testing.T) {
	e := newEnv(t)
	app := e.appNamespace(t)
	e.location(t, "default", e.dir, func(bl *v1alpha1.BackupLocation) { bl.Spec.Default = true })
	e.serve(t, Options{})

	e.backup(t, "app-1", v1alpha1.BackupTemplate{IncludeNamespaces: []string{app},
		TTL: &metav1.Duration{Duration: time.Hour}})
	b := e.waitBackup(t, "app-1", time.Minute, terminal)

	if b.Status.Phase != v1alpha1.PhaseCompleted {
		t.Fatalf("phase %s: %s", b.Status.Phase, b.Status.FailureReason)
	}
	if b.Status.Location != "default" || b.Status.UID == "" || b.Status.StartTime == nil ||
		b.Status.CompletionTime == nil || b.Status.Expiration == nil {
		t.Errorf("status incomplete: %+v", b.Status)
	}
	if p := b.Status.Progress; p == nil || p.Objects < 2 || p.ItemsDone == 0 ||
		p.ItemsDone != p.ItemsTotal {
		t.Errorf("progress %+v: want the namespace and the ConfigMap, all types done", p)
	}
	if !slices.Contains(b.Finalizers, backupFinalizer) {
		t.Errorf("finalizers %v: want %s", b.Finalizers, backupFinalizer)
	}
	if got := manifests(t, e.dir); !slices.Equal(got, []string{"app-1"}) {
		t.Errorf("location holds %v", got)
	}
}

func TestBackupValidation(t *testing.T) {
	e := newEnv(t)
	ro := t.TempDir()
	e.location(t, "main", e.dir, nil)
	e.location(t, "archive", ro, func(bl *v1alpha1.BackupLocation) { bl.Spec.ReadOnly = true })
	e.serve(t, Options{})

	tests := []struct {
		name   string
		tmpl   v1alpha1.BackupTemplate
		phase  v1alpha1.Phase
		reason string
	}{
		{"no-default", v1alpha1.BackupTemplate{}, v1alpha1.PhaseFailedValidation,
			"no BackupLocation"},
		{"missing-location", v1alpha1.BackupTemplate{Location: "nowhere"},
			v1alpha1.PhaseFailedValidation, "nowhere does not exist"},
		{"read-only", v1alpha1.BackupTemplate{Location: "archive"},
			v1alpha1.PhaseFailedValidation, "read-only"},
		{"bad-selector", v1alpha1.BackupTemplate{Location: "main", Selector: "a in (("},
			v1alpha1.PhaseFailedValidation, "selector"},
		{"unknown-type", v1alpha1.BackupTemplate{Location: "main",
			IncludeResources: []string{"gizmos.example.test"}},
			v1alpha1.PhaseFailedValidation, "gizmos"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.backup(t, tc.name, tc.tmpl)
			b := e.waitBackup(t, tc.name, time.Minute, terminal)
			if b.Status.Phase != tc.phase || !strings.Contains(b.Status.FailureReason, tc.reason) {
				t.Errorf("phase %s, reason %q; want %s with %q", b.Status.Phase,
					b.Status.FailureReason, tc.phase, tc.reason)
			}
		})
	}

}
