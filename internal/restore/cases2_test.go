package restore

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/test/controlplane"
)

func TestCase_BC18(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	apply := func(manager, data string, force bool) error {
		_, err := e.cs.CoreV1().ConfigMaps(e.ns).Patch(ctx, "cfg", types.ApplyPatchType,
			[]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":`+data+`}`),
			metav1.PatchOptions{FieldManager: manager, Force: &force})
		return err
	}
	if err := apply("team-a", `{"key1":"v1"}`, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cs.CoreV1().Namespaces().Patch(ctx, e.ns, types.ApplyPatchType,
		[]byte(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"`+e.ns+
			`","labels":{"team":"a"}}}`), metav1.PatchOptions{FieldManager: "team-a"}); err != nil {
		t.Fatal(err)
	}
	e.backupAndRestore(t, Spec{})

	for _, obj := range []struct {
		what   string
		fields []metav1.ManagedFieldsEntry
		field  string
	}{
		{"ConfigMap cfg", e.get(t, configMaps, e.ns, "cfg").GetManagedFields(), `"f:key1"`},
		{"Namespace", e.get(t, namespacesR, "", e.ns).GetManagedFields(), `"f:team"`},
	} {
		owned := false
		for _, f := range obj.fields {
			if f.Manager == "team-a" && f.FieldsV1 != nil &&
				strings.Contains(f.FieldsV1.GetRawString(), obj.field) {
				owned = true
			}
		}
		if !owned {
			t.Errorf("%s: team-a does not own %s; managedFields %+v", obj.what, obj.field, obj.fields)
		}
	}
	err := apply("team-b", `{"key1":"v2"}`, false)
	if !apierrors.IsConflict(err) {
		t.Errorf("team-b's apply: %v, want a conflict with team-a", err)
	}
}

func TestCase_BC20(t *testing.T) {
	e := newEnv(t)
	e.apply(t, `
apiVersion: v1
kind: Secret
metadata: {name: regcred}
type: kubernetes.io/dockerconfigjson
data: {.dockerconfigjson: eyJhdXRocyI6e319}
`)
	ctx := context.Background()
	waitFor(t, "default ServiceAccount", time.Minute, func() bool {
		return e.exists(saR, e.ns, "default")
	})
	if _, err := e.cs.CoreV1().ServiceAccounts(e.ns).Patch(ctx, "default", types.MergePatchType,
		[]byte(`{"imagePullSecrets":[{"name":"regcred"}],"secrets":[{"name":"default-token-gone"}]}`),
		metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	rec, outs := e.backupAndRestore(t, Spec{})
	if len(rec.Warnings) > 0 {
		t.Errorf("warnings: %v", rec.Warnings)
	}
	sa, err := e.cs.CoreV1().ServiceAccounts(e.ns).Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sa.ImagePullSecrets, []corev1.LocalObjectReference{{Name: "regcred"}}) {
		t.Errorf("default imagePullSecrets %v, want regcred", sa.ImagePullSecrets)
	}
	if len(sa.Secrets) > 0 {
		t.Errorf("default points at token Secrets %v", sa.Secrets)
	}
	if o := outs[key("configmaps", e.ns, "kube-root-ca.crt")]; o.Action != ActionSkip {
		t.Errorf("kube-root-ca.crt: %+v, want skip", o)
	}
	var ca *corev1.ConfigMap
	waitFor(t, "kube-root-ca.crt", time.Minute, func() bool {
		ca, err = e.cs.CoreV1().ConfigMaps(e.ns).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		return err == nil
	})
	want, err := e.cs.CoreV1().ConfigMaps("default").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ca.Data["ca.crt"] != want.Data["ca.crt"] {
		t.Error("kube-root-ca.crt does not hold the target cluster's CA")
	}
}

func TestCase_BC21(t *testing.T) {
	e := newEnv(t)
	e.apply(t, `
apiVersion: v1
kind: Service
metadata: {name: ext-db}
spec: {ports: [{port: 5432}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: ext-db}
subsets: [{addresses: [{ip: 192.0.2.10}], ports: [{port: 5432}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
`)
	ctx := context.Background()
	waitFor(t, "Endpoints of web", time.Minute, func() bool {
		_, err := e.cs.CoreV1().Endpoints(e.ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil
	})
	rec, _ := e.backupAndRestore(t, Spec{})
	if len(rec.Warnings) > 0 {
		t.Errorf("warnings: %v", rec.Warnings)
	}
	ep, err := e.cs.CoreV1().Endpoints(e.ns).Get(ctx, "ext-db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ep.Subsets) != 1 || len(ep.Subsets[0].Addresses) != 1 ||
		ep.Subsets[0].Addresses[0].IP != "192.0.2.10" || ep.Subsets[0].Ports[0].Port != 5432 {
		t.Errorf("ext-db endpoints %+v, want 192.0.2.10:5432", ep.Subsets)
	}
}

func TestCase_BC22(t *testing.T) {
	e := newEnv(t)
	e.apply(t, `
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ext-1
  labels:
    kubernetes.io/service-name: ext
    endpointslice.kubernetes.io/managed-by: manual.example.test
addressType: IPv4
endpoints: [{addresses: [192.0.2.12]}]
`)
	ctx := context.Background()
	waitFor(t, "managed slice of web", time.Minute, func() bool {
		l, err := e.cs.DiscoveryV1().EndpointSlices(e.ns).List(ctx,
			metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=web"})
		return err == nil && len(l.Items) > 0
	})
	m := e.backup(t, archive.Spec{})
	dst := e.ns + "-2"
	e.cleanupNamespace(t, dst)
	rec, _ := e.restore(t, m, Spec{NamespaceMappings: map[string]string{e.ns: dst}})
	requirePhase(t, rec, PhaseCompleted)
	if len(rec.Warnings) > 0 {
		t.Errorf("warnings: %v", rec.Warnings)
	}
	_, err := e.cs.DiscoveryV1().EndpointSlices(dst).Get(ctx, "ext-1", metav1.GetOptions{})
	if err != nil {
		t.Errorf("ext-1: %v", err)
	}
}

func TestCase_BC24(t *testing.T) {
	e := newEnv(t)
	class := e.ns + "-high"
	pcs := gvr("scheduling.k8s.io", "v1", "priorityclasses")
	e.cleanupCluster(t, pcs, class)
	pc := func(value string) string {
		return "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: NS-high}\n" +
			"value: " + value + "\n"
	}
	e.apply(t, pc("2000"))
	e.apply(t, `
apiVersion: v1
kind: Pod
metadata: {name: p1}
spec: {priorityClassName: NS-high, containers: [{name: c, image: registry.example.test/app:1}]}
`)
	m := e.backup(t, archive.Spec{})
	e.deleteNamespace(t, e.ns)
	ctx := context.Background()
	if err := e.c.Dynamic.Resource(pcs).Delete(ctx, class, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.apply(t, pc("3000"))
	rec, _ := e.restore(t, m, Spec{})
	requirePhase(t, rec, PhaseCompleted)
	p, err := e.cs.CoreV1().Pods(e.ns).Get(ctx, "p1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.Priority == nil || *p.Spec.Priority != 3000 {
		t.Errorf("priority %v, want 3000", p.Spec.Priority)
	}
}

func TestCase_BC26(t *testing.T) {
	e := newEnv(t)
	e.apply(t, `
apiVersion: v1
kind: LimitRange
metadata: {name: defaults}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 500m, memory: 256Mi}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: registry.example.test/web:1}]}
`)
	e.backupAndRestore(t, Spec{})
	ctx := context.Background()
	var ps *corev1.PodList
	waitFor(t, "web's Pod", time.Minute, func() bool {
		var err error
		ps, err = e.cs.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		return err == nil && len(ps.Items) > 0
	})
	for _, p := range ps.Items {
		res := p.Spec.Containers[0].Resources
		if res.Requests.Cpu().String() != "500m" || res.Limits.Memory().String() != "256Mi" {
			t.Errorf("pod %s resources %+v, want the LimitRange defaults", p.Name, res)
		}
	}
}

func TestCase_BC27(t *testing.T) {
	e := newEnv(t)
	apiservices := gvr("apiregistration.k8s.io", "v1", "apiservices")
	name := "v1beta1.legacy.example.test"
	e.cleanupCluster(t, apiservices, name)
	e.cp.Apply(t, []byte(`
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1beta1.legacy.example.test
  labels: {kube-aggregator.kubernetes.io/automanaged: onstart}
spec:
  group: legacy.example.test
  version: v1beta1
  groupPriorityMinimum: 1000
  versionPriority: 15
`), "")
	m := e.backup(t, archive.Spec{IncludeNamespaces: []string{"*"},
		IncludeResources: []string{"apiservices"}, IncludeClusterResources: "true"})
	ctx := context.Background()
	if err := e.c.Dynamic.Resource(apiservices).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	rec, outs := e.restore(t, m, Spec{})
	requirePhase(t, rec, PhaseCompleted)
	if o := outs[key("apiservices", "", name)]; o.Action != ActionSkip {
		t.Errorf("%s: %+v, want skip", name, o)
	}
	if e.exists(apiservices, "", name) {
		t.Error("the local APIService was restored")
	}
	if _, _, err := e.c.Discovery.ServerGroupsAndResources(); err != nil {
		t.Errorf("discovery after restore: %v", err)
	}
}

func TestCase_BC32(t *testing.T) {
	e := newEnv(t)
	e.ensureWidgets(t)
	e.apply(t, `
apiVersion: example.test/v1
kind: Widget
metadata: {name: r1, finalizers: [example.test/cleanup]}
`)
	m := e.backup(t, archive.Spec{})
	ctx := context.Background()
	unfinalize := func() {
		_, _ = e.c.Dynamic.Resource(widgets).Namespace(e.ns).Patch(ctx, "r1", types.MergePatchType,
			[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	}
	unfinalize()
	e.deleteNamespace(t, e.ns)
	rec, _ := e.restore(t, m, Spec{})
	t.Cleanup(unfinalize)
	requirePhase(t, rec, PhaseCompleted)
	if got := e.get(t, widgets, e.ns, "r1").GetFinalizers(); !reflect.DeepEqual(got,
		[]string{"example.test/cleanup"}) {
		t.Errorf("finalizers %v, want [example.test/cleanup]", got)
	}
}

func TestCase_BC33(t *testing.T) {
	e := newEnv(t)
	e.ensureWidgets(t)
	e.apply(t, `
apiVersion: example.test/v1
kind: Widget
metadata: {name: g1, finalizers: [example.test/hold]}
spec: {size: 1}
`)
	ctx := context.Background()
	w := e.c.Dynamic.Resource(widgets).Namespace(e.ns)
	release := func() {
		_, _ = w.Patch(ctx, "g1", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`),
			metav1.PatchOptions{})
	}
	t.Cleanup(release)
	if err := w.Delete(ctx, "g1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	m := e.backup(t, archive.Spec{})
	release()
	waitFor(t, "g1 gone", time.Minute, func() bool { return !e.exists(widgets, e.ns, "g1") })
	e.apply(t, "apiVersion: example.test/v1\nkind: Widget\nmetadata: {name: g1}\nspec: {size: 2}\n")

	rec, outs := e.restore(t, m, Spec{ExistingResourcePolicy: PolicyUpdate})
	requirePhase(t, rec, PhaseCompleted)
	if o := outs[key("widgets", e.ns, "g1")]; o.Action != ActionUpdate {
		t.Errorf("g1: %+v, want update", o)
	}
	got := e.get(t, widgets, e.ns, "g1")
	if got.GetDeletionTimestamp() != nil {
		t.Error("g1 is being deleted after the restore")
	}
}

func TestCase_BC34(t *testing.T) {
	e := newEnv(t)
	e.ensureWidgets(t)
	dir := t.TempDir()
	w2 := filepath.Join(dir, "w2.yaml")
	manifest := "apiVersion: example.test/v1\nkind: Widget\nmetadata: {name: w2, namespace: " +
		e.ns + "}\nspec: {size: 1}\n"
	if err := os.WriteFile(w2, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl := func(args ...string) {
		t.Helper()
		bins, err := controlplane.EnsureBinaries(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bins.Path("kubectl"), append([]string{"--kubeconfig",
			e.cp.Kubeconfig}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
	}
	kubectl("apply", "-f", w2)
	// A dump of the live object, re-applied, leaks server fields into the
	// last-applied annotation, as users do when they copy objects.
	dump := filepath.Join(dir, "dump.json")
	live := e.get(t, widgets, e.ns, "w2")
	live.SetManagedFields(nil)
	data, err := json.Marshal(live.Object)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dump, data, 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl("apply", "-f", dump)

	e.backupAndRestore(t, Spec{})
	ann := e.get(t, widgets, e.ns, "w2").GetAnnotations()[lastApplied]
	for _, f := range []string{"resourceVersion", "uid", "selfLink", "creationTimestamp",
		"generation", `"status"`} {
		if strings.Contains(ann, f) {
			t.Errorf("last-applied annotation holds %s: %s", f, ann)
		}
	}
	kubectl("apply", "-f", w2)
}
