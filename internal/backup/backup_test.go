package backup

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/cluster"
	"github.com/cairn-backup/cairn/test/controlplane"
)

// crdYAML defines a namespaced Widget and a cluster-scoped Gadget type in a
// group unique to the test namespace, labelled part-of: demo.
const crdYAML = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.NS.example.test, labels: {part-of: demo}}
spec:
  group: NS.example.test
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.NS.example.test, labels: {part-of: demo}}
spec:
  group: NS.example.test
  scope: Cluster
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`

// installCRDs creates the test's CRDs and waits until they are served.
func installCRDs(t *testing.T, e *env) {
	t.Helper()
	e.apply(t, crdYAML)
	t.Cleanup(func() {
		for _, n := range []string{"widgets", "gadgets"} {
			_ = e.c.Dynamic.Resource(crdGVR).Delete(context.Background(),
				n+"."+e.ns+".example.test", metav1.DeleteOptions{})
		}
	})
	waitFor(t, "CRDs served", func() bool {
		_, err := e.c.Discovery.ServerResourcesForGroupVersion(e.ns + ".example.test/v1")
		return err == nil
	})
}

var crdGVR = archiveGVR("apiextensions.k8s.io", "v1", "customresourcedefinitions")

// TestBackupApplication backs up the example app and its neighbours by
// namespace and checks that every object is there, with the cluster-scoped
// objects they depend on and nothing else cluster-scoped.
func TestBackupApplication(t *testing.T) {
	e := newEnv(t)
	e.cp.Apply(t, controlplane.ExampleApp(t), e.ns)
	app, err := os.ReadFile("testdata/app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e.apply(t, string(app))
	installCRDs(t, e)
	e.apply(t, `
apiVersion: NS.example.test/v1
kind: Widget
metadata: {name: w1}
spec: {size: 3}
---
apiVersion: NS.example.test/v1
kind: Gadget
metadata: {name: NS-g1}
`)
	pv, sc := boundPV(t, e)
	cs := e.cp.Clientset(t)
	waitFor(t, "pods of the Deployment and the StatefulSet", func() bool {
		pods, err := cs.CoreV1().Pods(e.ns).List(context.Background(), metav1.ListOptions{})
		return err == nil && len(pods.Items) == 2
	})

	m, objs := e.backup(t, "app", archive.Spec{IncludeNamespaces: []string{e.ns}})
	if m.Phase != archive.PhaseCompleted || len(m.Errors) > 0 {
		t.Fatalf("phase %s, errors %v", m.Phase, m.Errors)
	}
	group := e.ns + ".example.test"
	ns := e.ns
	requirePaths(t, objs,
		path("", "v1", "namespaces", "", ns),
		path("apps", "v1", "deployments", ns, "my-deployment"),
		path("", "v1", "persistentvolumeclaims", ns, "my-pvc"),
		path("", "v1", "persistentvolumeclaims", ns, "bound-pvc"),
		path("", "v1", "persistentvolumeclaims", ns, "data-my-db-0"),
		path("", "v1", "services", ns, "my-service"),
		path("", "v1", "configmaps", ns, "my-config"),
		path("", "v1", "secrets", ns, "my-secret"),
		path("", "v1", "serviceaccounts", ns, "my-sa"),
		path("rbac.authorization.k8s.io", "v1", "roles", ns, "my-role"),
		path("rbac.authorization.k8s.io", "v1", "rolebindings", ns, "my-rolebinding"),
		path("apps", "v1", "statefulsets", ns, "my-db"),
		path("", "v1", "pods", ns, "my-db-0"),
		path("batch", "v1", "cronjobs", ns, "my-cron"),
		path(group, "v1", "widgets", ns, "w1"),
		// Cluster-scoped objects the namespace's objects depend on.
		path("", "v1", "persistentvolumes", "", pv),
		path("storage.k8s.io", "v1", "storageclasses", "", sc),
		path("apiextensions.k8s.io", "v1", "customresourcedefinitions", "", "widgets."+group),
		path("rbac.authorization.k8s.io", "v1", "clusterroles", "", "view"),
	)
	forbidPaths(t, objs,
		path(group, "v1", "gadgets", "", ns+"-g1"),
		path("apiextensions.k8s.io", "v1", "customresourcedefinitions", "", "gadgets."+group),
		path("", "v1", "namespaces", "", "default"),
		path("rbac.authorization.k8s.io", "v1", "clusterroles", "", "admin"),
	)
	for _, ti := range m.Types {
		if ti.Consistency != archive.ConsistencySnapshot || ti.ResourceVersion != m.ResourceVersion {
			t.Errorf("type %s read at %s (%s), want the snapshot %s",
				ti.Resource, ti.ResourceVersion, ti.Consistency, m.ResourceVersion)
		}
	}

	// With every cluster-scoped object in scope the cluster-scoped custom
	// resource and the other CRD come too.
	_, all := e.backup(t, "app-all", archive.Spec{IncludeNamespaces: []string{e.ns},
		IncludeClusterResources: archive.ClusterResourcesTrue})
	requirePaths(t, all,
		path(group, "v1", "gadgets", "", ns+"-g1"),
		path("apiextensions.k8s.io", "v1", "customresourcedefinitions", "", "gadgets."+group),
		path("rbac.authorization.k8s.io", "v1", "clusterroles", "", "admin"),
	)
}

// TestObjectsAsServed checks that a stored object is the server's JSON with
// apiVersion and kind, status included.
func TestObjectsAsServed(t *testing.T) {
	e := newEnv(t)
	e.cp.Apply(t, controlplane.ExampleApp(t), e.ns)
	_, objs := e.backup(t, "served", archive.Spec{IncludeNamespaces: []string{e.ns},
		IncludeResources: []string{"deployments"}})
	data := objs[path("apps", "v1", "deployments", e.ns, "my-deployment")]
	var d struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Metadata   map[string]any `json:"metadata"`
		Status     map[string]any `json:"status"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	if d.APIVersion != "apps/v1" || d.Kind != "Deployment" || d.Metadata["uid"] == nil {
		t.Fatalf("stored deployment: apiVersion %q kind %q uid %v", d.APIVersion, d.Kind, d.Metadata["uid"])
	}
	if d.Status == nil {
		t.Fatal("stored deployment has no status")
	}
}

func TestRejectsBadInput(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := Run(ctx, e.request("taken", archive.Spec{IncludeNamespaces: []string{e.ns}})); err != nil {
		t.Fatal(err)
	}
	before, _ := e.loc.List(ctx, "", "")
	tests := []struct {
		name string
		spec archive.Spec
	}{
		{"taken", archive.Spec{}},
		{"Not_A_Name", archive.Spec{}},
		{"unknown-type", archive.Spec{IncludeResources: []string{"gizmos"}}},
		{"bad-selector", archive.Spec{Selector: "app in ("}},
		{"bad-glob", archive.Spec{IncludeNamespaces: []string{"[x"}}},
		{"bad-mode", archive.Spec{IncludeClusterResources: "sometimes"}},
	}
	for _, tt := range tests {
		_, err := Run(ctx, e.request(tt.name, tt.spec))
		if err == nil {
			t.Errorf("backup %s with %+v succeeded", tt.name, tt.spec)
			continue
		}
		t.Logf("%s: %v", tt.name, err)
	}
	after, _ := e.loc.List(ctx, "", "")
	if len(after) != len(before) {
		t.Fatalf("bad input wrote to the location: %v, then %v", before, after)
	}

	unreachable := e.request("unreachable", archive.Spec{})
	cfg := e.cp.RESTConfig()
	cfg.Host = "https://127.0.0.1:1"
	cfg.Timeout = 2 * time.Second
	c, err := cluster.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	unreachable.Cluster = c
	if _, err := Run(ctx, unreachable); err == nil {
		t.Fatal("backup of an unreachable cluster succeeded")
	}
}
