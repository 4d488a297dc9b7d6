package server

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

// waitRestore waits until a Restore has ended and returns it.
func (e *env) waitRestore(t *testing.T, name string) *v1alpha1.Restore {
	t.Helper()
	var rs v1alpha1.Restore
	eventually(t, time.Minute, func() error {
		if err := e.get(t, name, &rs); err != nil {
			return err
		}
		if !rs.Status.Phase.Terminal() {
			return errString("restore " + name + " is " + string(rs.Status.Phase))
		}
		return nil
	})
	return &rs
}

// backedUpApp serves with a default location and returns an app namespace
// whose backup "app" has completed.
func (e *env) backedUpApp(t *testing.T) string {
	t.Helper()
	app := e.appNamespace(t)
	e.location(t, "main", e.dir, func(bl *v1alpha1.BackupLocation) { bl.Spec.Default = true })
	e.serve(t, Options{})
	e.backup(t, "app", v1alpha1.BackupTemplate{IncludeNamespaces: []string{app}})
	if b := e.waitBackup(t, "app", time.Minute, terminal); b.Status.Phase !=
		v1alpha1.PhaseCompleted {
		t.Fatalf("backup %s: %s", b.Status.Phase, b.Status.FailureReason)
	}
	return app
}

func TestRestore(t *testing.T) {
	e := newEnv(t)
	app := e.backedUpApp(t)
	copyNS := app + "-copy"
	t.Cleanup(func() {
		_ = e.c.Delete(context.Background(), &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{Name: copyNS}})
	})

	tests := []struct {
		name   string
		spec   v1alpha1.RestoreSpec
		phase  v1alpha1.Phase
		reason string
	}{
		{"into-a-copy", v1alpha1.RestoreSpec{Backup: "app",
			NamespaceMappings: map[string]string{app: copyNS}}, v1alpha1.PhaseCompleted, ""},
		{"missing-backup", v1alpha1.RestoreSpec{Backup: "nope"},
			v1alpha1.PhaseFailedValidation, "does not exist"},
		{"cancelled", v1alpha1.RestoreSpec{Backup: "app", Cancel: true},
			v1alpha1.PhaseFailed, "cancelled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := &v1alpha1.Restore{ObjectMeta: metav1.ObjectMeta{Name: tc.name,
				Namespace: e.ns}, Spec: tc.spec}
			if err := e.c.Create(t.Context(), rs); err != nil {
				t.Fatal(err)
			}
			got := e.waitRestore(t, tc.name)
			if got.Status.Phase != tc.phase ||
				!strings.Contains(got.Status.FailureReason, tc.reason) {
				t.Fatalf("phase %s, reason %q; want %s with %q", got.Status.Phase,
					got.Status.FailureReason, tc.phase, tc.reason)
			}
		})
	}

	var cm corev1.ConfigMap
	if err := e.c.Get(t.Context(), client.ObjectKey{Namespace: copyNS, Name: "settings"},
		&cm); err != nil || cm.Data["color"] != "blue" {
		t.Errorf("restored ConfigMap: %v, %v", cm.Data, err)
	}
}

// TestRestoreExistingPolicy restores over a ConfigMap changed since the
// backup: the default policy leaves it, a dry run of the update policy
// reports without writing, and the update policy brings the backed-up
// data back.
func TestRestoreExistingPolicy(t *testing.T) {
	e := newEnv(t)
	app := e.backedUpApp(t)
	key := client.ObjectKey{Namespace: app, Name: "settings"}
	var cm corev1.ConfigMap
	if err := e.c.Get(t.Context(), key, &cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["color"] = "red"
	if err := e.c.Update(t.Context(), &cm); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		policy string
		dryRun bool
		color  string
	}{
		{"policy-none", "", false, "red"},
		{"update-dry-run", "update", true, "red"},
		{"update", "update", false, "blue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := &v1alpha1.Restore{
				ObjectMeta: metav1.ObjectMeta{Name: tc.name, Namespace: e.ns},
				Spec: v1alpha1.RestoreSpec{Backup: "app", IncludeNamespaces: []string{app},
					ExistingResourcePolicy: tc.policy, DryRun: tc.dryRun},
			}
			if err := e.c.Create(t.Context(), rs); err != nil {
				t.Fatal(err)
			}
			got := e.waitRestore(t, tc.name)
			if got.Status.Phase != v1alpha1.PhaseCompleted {
				t.Fatalf("phase %s: %s", got.Status.Phase, got.Status.FailureReason)
			}
			if err := e.c.Get(t.Context(), key, &cm); err != nil {
				t.Fatal(err)
			}
			if cm.Data["color"] != tc.color {
				t.Errorf("color %q after the restore, want %q", cm.Data["color"], tc.color)
			}
		})
	}
}

// TestRestoreSpecSchema has the API server refuse values of the Restore
// options outside their enums, and default them when left out.
func TestRestoreSpecSchema(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		spec v1alpha1.RestoreSpec
		ok   bool
	}{
		{"defaults", v1alpha1.RestoreSpec{Backup: "b"}, true},
		{"update", v1alpha1.RestoreSpec{Backup: "b", ExistingResourcePolicy: "update",
			IncludeClusterResources: "false"}, true},
		{"bad-policy", v1alpha1.RestoreSpec{Backup: "b", ExistingResourcePolicy: "replace"},
			false},
		{"bad-cluster", v1alpha1.RestoreSpec{Backup: "b", IncludeClusterResources: "yes"},
			false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := &v1alpha1.Restore{
				ObjectMeta: metav1.ObjectMeta{Name: tc.name, Namespace: e.ns}, Spec: tc.spec}
			err := e.c.Create(t.Context(), rs)
			if (err == nil) != tc.ok {
				t.Fatalf("create: %v, want ok=%t", err, tc.ok)
			}
			if err != nil {
				return
			}
			if tc.spec.ExistingResourcePolicy == "" && (rs.Spec.ExistingResourcePolicy != "none" ||
				rs.Spec.IncludeClusterResources != "auto") {
				t.Errorf("defaults: policy %q, cluster resources %q",
					rs.Spec.ExistingResourcePolicy, rs.Spec.IncludeClusterResources)
			}
		})
	}
}
