package server

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

func TestManifests(t *testing.T) {
	tests := []struct {
		name         string
		opts         InstallOptions
		writeAnyType bool
	}{
		{"backup only", InstallOptions{Namespace: "cairn", Image: "cairn:1"}, false},
		{"with restore", InstallOptions{Namespace: "cairn", Image: "cairn:1",
			AllowRestore: true}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Manifests(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			writeAnyType := false
			for _, u := range objs {
				kinds[u.GetKind()]++
				if ns := u.GetNamespace(); ns != "" && ns != tc.opts.Namespace {
					t.Errorf("%s %s in namespace %s", u.GetKind(), u.GetName(), ns)
				}
				rules := ruleStrings(u.Object)
				for _, r := range rules {
					if strings.Contains(r, "delete") && u.GetKind() == "ClusterRole" {
						t.Errorf("ClusterRole %s may delete: %s", u.GetName(), r)
					}
					if strings.Contains(r, "*/*:") && strings.Contains(r, "create") {
						writeAnyType = true
					}
					for _, verb := range []string{"escalate", "bind", "impersonate"} {
						if strings.Contains(r, verb) {
							t.Errorf("%s %s grants %s", u.GetKind(), u.GetName(), verb)
						}
					}
				}
			}
			if kinds["CustomResourceDefinition"] != 4 || kinds["Deployment"] != 1 ||
				kinds["ServiceAccount"] != 1 || kinds["Service"] != 1 {
				t.Errorf("kinds %v", kinds)
			}
			if writeAnyType != tc.writeAnyType {
				t.Errorf("write rights on every type: %t, want %t", writeAnyType,
					tc.writeAnyType)
			}
		})
	}
}

// ruleStrings renders the rules of a Role or ClusterRole as
// "groups/resources:verbs" strings.
func ruleStrings(obj map[string]any) []string {
	raw, _ := obj["rules"].([]any)
	var out []string
	for _, r := range raw {
		m, _ := r.(map[string]any)
		out = append(out, join(m["apiGroups"])+"/"+join(m["resources"])+":"+join(m["verbs"]))
	}
	return out
}

func join(v any) string {
	items, _ := v.([]any)
	var s []string
	for _, i := range items {
		s = append(s, i.(string))
	}
	return strings.Join(s, ",")
}

// TestInstalledServiceAccount installs the manifests into a namespace, runs
// the server as the installed ServiceAccount, and checks that it can back
// up an application and is refused what it does not need.
func TestInstalledServiceAccount(t *testing.T) {
	e := newEnv(t)
	app := e.appNamespace(t)
	e.cp.Apply(t, []byte(`apiVersion: v1
kind: Secret
metadata: {name: token}
stringData: {token: s3cr3t}
`), app)
	objs, err := Manifests(InstallOptions{Namespace: e.ns, Image: "cairn:test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := Apply(t.Context(), e.cp.RESTConfig(), objs); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeClusterRBAC(t, e) })

	sa := e.cp.RESTConfig()
	sa.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + e.ns + ":" + ServiceAccountName,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + e.ns},
	}

	t.Run("backs up", func(t *testing.T) {
		e.location(t, "main", e.dir, func(bl *v1alpha1.BackupLocation) { bl.Spec.Default = true })
		e.serveWith(t, sa, Options{LeaderElection: true})
		e.backup(t, "app", v1alpha1.BackupTemplate{IncludeNamespaces: []string{app}})
		b := e.waitBackup(t, "app", time.Minute, terminal)
		if b.Status.Phase != v1alpha1.PhaseCompleted || b.Status.Errors > 0 {
			t.Fatalf("phase %s, %d errors: %s", b.Status.Phase, b.Status.Errors,
				b.Status.FailureReason)
		}
		if p := b.Status.Progress; p == nil || p.Objects < 3 {
			t.Errorf("progress %+v: want the namespace, the ConfigMap and the Secret", p)
		}
	})

	c, err := client.New(sa, client.Options{Scheme: Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	cm := func(ns string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: ns}}
	}
	refused := []struct {
		name string
		do   func() error
	}{
		{"delete outside its namespace", func() error { return c.Delete(t.Context(), cm(app)) }},
		{"create outside its namespace", func() error {
			return c.Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
				Name: "planted", Namespace: app}})
		}},
		{"update outside its namespace", func() error {
			var got corev1.ConfigMap
			if err := c.Get(t.Context(), client.ObjectKeyFromObject(cm(app)), &got); err != nil {
				return err
			}
			got.Data = map[string]string{"color": "red"}
			return c.Update(t.Context(), &got)
		}},
		{"write Secrets in its namespace", func() error {
			return c.Create(t.Context(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
				Name: "planted", Namespace: e.ns}})
		}},
		{"bind a ClusterRole", func() error {
			return c.Create(t.Context(), &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "cairn-test-escalation"},
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole",
					Name: "cluster-admin"},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: ServiceAccountName,
					Namespace: e.ns}},
			})
		}},
		{"delete a namespace", func() error {
			return c.Delete(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
				Name: app}})
		}},
	}
	for _, tc := range refused {
		t.Run("refused/"+tc.name, func(t *testing.T) {
			if err := tc.do(); !apierrors.IsForbidden(err) {
				t.Errorf("got %v, want Forbidden", err)
			}
		})
	}

	t.Run("restores with allow-restore", func(t *testing.T) {
		objs, err := Manifests(InstallOptions{Namespace: e.ns, Image: "cairn:test",
			AllowRestore: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := Apply(t.Context(), e.cp.RESTConfig(), objs); err != nil {
			t.Fatal(err)
		}
		copyNS := app + "-copy"
		t.Cleanup(func() {
			_ = e.c.Delete(context.Background(), &corev1.Namespace{
				ObjectMeta: metav1.ObjectMeta{Name: copyNS}})
		})
		e.serveWith(t, sa, Options{})
		rs := &v1alpha1.Restore{ObjectMeta: metav1.ObjectMeta{Name: "copy", Namespace: e.ns},
			Spec: v1alpha1.RestoreSpec{Backup: "app",
				NamespaceMappings: map[string]string{app: copyNS}}}
		if err := e.c.Create(t.Context(), rs); err != nil {
			t.Fatal(err)
		}
		got := e.waitRestore(t, "copy")
		if got.Status.Phase != v1alpha1.PhaseCompleted || got.Status.Errors > 0 {
			t.Fatalf("restore %s, %d errors: %s", got.Status.Phase, got.Status.Errors,
				got.Status.FailureReason)
		}
		var restored corev1.Secret
		if err := e.c.Get(t.Context(), client.ObjectKey{Namespace: copyNS, Name: "token"},
			&restored); err != nil {
			t.Error(err)
		}
		for _, tc := range []int{0, 4} { // delete; bind cluster-admin
			if err := refused[tc].do(); !apierrors.IsForbidden(err) {
				t.Errorf("%s: got %v, want Forbidden", refused[tc].name, err)
			}
		}
	})
}

// removeClusterRBAC deletes the cluster-wide objects an install made, so
// that other tests see the control plane as it was.
func removeClusterRBAC(t *testing.T, e *env) {
	ctx := context.Background() // t.Context() has ended when cleanups run
	for _, name := range []string{readRoleName, restoreRoleName} {
		_ = e.c.Delete(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name}})
		_ = e.c.Delete(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}})
	}
}
