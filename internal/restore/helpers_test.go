package restore

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/backup"
	"github.com/cairn-backup/cairn/internal/cluster"
	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/test/controlplane"
)

func TestMain(m *testing.M) { os.Exit(controlplane.RunTests(m)) }

// env is what a restore test works with: the shared control plane, a
// fresh namespace and an empty location.
type env struct {
	cp  *controlplane.ControlPlane
	ns  string
	c   *cluster.Cluster
	cs  kubernetes.Interface
	loc *location.Location
	n   int
}

func newEnv(t testing.TB) *env {
	t.Helper()
	cp := controlplane.Shared(t)
	c, err := cluster.New(cp.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	loc, err := location.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = loc.Close() })
	return &env{cp: cp, ns: cp.Namespace(t), c: c, cs: cp.Clientset(t), loc: loc}
}

// apply creates YAML objects; NS in the text is replaced by the test's
// namespace first, and namespaced objects go to that namespace.
func (e *env) apply(t *testing.T, yaml string) {
	t.Helper()
	e.cp.Apply(t, []byte(strings.ReplaceAll(yaml, "NS", e.ns)), e.ns)
}

// backup backs up the test namespace, or what spec selects.
func (e *env) backup(t testing.TB, spec archive.Spec) *archive.Manifest {
	t.Helper()
	if spec.IncludeNamespaces == nil {
		spec.IncludeNamespaces = []string{e.ns}
	}
	e.n++
	m, err := backup.Run(context.Background(), backup.Request{
		Name: fmt.Sprintf("b%d", e.n), Spec: spec, Cluster: e.c, Location: e.loc})
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	return m
}

func (e *env) request(m *archive.Manifest, spec Spec) Request {
	e.n++
	return Request{Name: fmt.Sprintf("r%d", e.n), Backup: m.Name, Spec: spec,
		Cluster: e.c, Location: e.loc, NamespaceWait: 20 * time.Second}
}

// restore runs a restore and returns its record and outcomes by path.
func (e *env) restore(t *testing.T, m *archive.Manifest, spec Spec) (*Record,
	map[string]Outcome) {
	t.Helper()
	return e.run(t, e.request(m, spec))
}

func (e *env) run(t *testing.T, req Request) (*Record, map[string]Outcome) {
	t.Helper()
	rec, err := Run(context.Background(), req)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	outs, err := Outcomes(context.Background(), e.loc, rec, req.Keys)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]Outcome{}
	for _, o := range outs {
		byPath[key(o.Object.Resource, o.Object.Namespace, o.Object.Name)] = o
	}
	for _, p := range rec.Errors {
		t.Logf("restore error: %s %v: %s", p.Action, p.Object, p.Reason)
	}
	return rec, byPath
}

// key names an outcome in tests: resource/namespace/name.
func key(resource, ns, name string) string { return resource + "/" + ns + "/" + name }

func requirePhase(t *testing.T, rec *Record, want Phase) {
	t.Helper()
	if rec.Phase != want {
		t.Fatalf("restore phase %s, want %s (counts %+v, errors %v)", rec.Phase, want,
			rec.Counts, rec.Errors)
	}
}

// deleteNamespace deletes a namespace and waits until it is gone.
func (e *env) deleteNamespace(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	if err := e.cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil &&
		!apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	waitFor(t, "namespace "+ns+" deleted", 2*time.Minute, func() bool {
		_, err := e.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

// cleanupNamespace deletes a namespace a restore made when the test ends.
func (e *env) cleanupNamespace(t testing.TB, ns string) {
	t.Cleanup(func() {
		_ = e.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
}

// cleanupCluster deletes a cluster-scoped object when the test ends.
func (e *env) cleanupCluster(t *testing.T, gvr schema.GroupVersionResource, name string) {
	t.Cleanup(func() {
		_ = e.c.Dynamic.Resource(gvr).Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

// get reads an object; it fails the test when the object is missing.
func (e *env) get(t *testing.T, gvr schema.GroupVersionResource, ns,
	name string) *unstructured.Unstructured {
	t.Helper()
	obj, err := e.c.Dynamic.Resource(gvr).Namespace(ns).Get(context.Background(), name,
		metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get %s %s/%s: %v", gvr.Resource, ns, name, err)
	}
	return obj
}

func (e *env) exists(gvr schema.GroupVersionResource, ns, name string) bool {
	_, err := e.c.Dynamic.Resource(gvr).Namespace(ns).Get(context.Background(), name,
		metav1.GetOptions{})
	return err == nil
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func gvr(group, version, resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: group, Version: version, Resource: resource}
}

var (
	configMaps  = gvr("", "v1", "configmaps")
	secrets     = gvr("", "v1", "secrets")
	services    = gvr("", "v1", "services")
	pvcs        = gvr("", "v1", "persistentvolumeclaims")
	pvs         = gvr("", "v1", "persistentvolumes")
	namespacesR = gvr("", "v1", "namespaces")
	saR         = gvr("", "v1", "serviceaccounts")
	deployments = gvr("apps", "v1", "deployments")
	crds        = gvr("apiextensions.k8s.io", "v1", "customresourcedefinitions")
	widgets     = gvr("example.test", "v1", "widgets")
)

// widgetCRD is a namespaced CRD for tests; NAME is replaced.
const widgetCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.test}
spec:
  group: example.test
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`

// ensureWidgets creates the Widget CRD when it is missing and waits until
// it is served.
func (e *env) ensureWidgets(t *testing.T) {
	t.Helper()
	if !e.exists(crds, "", "widgets.example.test") {
		e.cp.Apply(t, []byte(widgetCRD), "")
	}
	waitFor(t, "widgets served", time.Minute, func() bool {
		_, err := e.c.Dynamic.Resource(widgets).Namespace(e.ns).List(context.Background(),
			metav1.ListOptions{Limit: 1})
		return err == nil
	})
}

func namespaceNamed(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// backupAndRestore backs up the test namespace, deletes it, restores the
// backup with spec and requires the restore to complete.
func (e *env) backupAndRestore(t *testing.T, spec Spec) (*Record, map[string]Outcome) {
	t.Helper()
	m := e.backup(t, archive.Spec{})
	e.deleteNamespace(t, e.ns)
	rec, outs := e.restore(t, m, spec)
	requirePhase(t, rec, PhaseCompleted)
	return rec, outs
}
