package restore

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/backup"
	"github.com/cairn-backup/cairn/test/controlplane"
)

// appExtras are objects beside the example application that a restore
// must bring back as they were.
const appExtras = `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, labels: {tier: web}}
data: {color: blue}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: hunter2}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: app-sa}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader-bind}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: app-sa, namespace: NS}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: my-app}, ports: [{port: 80}]}
---
apiVersion: example.test/v1
kind: Widget
metadata: {name: w1}
spec: {size: 3}
`

// compared are the types whose objects the round trip compares.
var compared = []schema.GroupVersionResource{
	configMaps, secrets, saR, services, pvcs, deployments, widgets,
	gvr("rbac.authorization.k8s.io", "v1", "roles"),
	gvr("rbac.authorization.k8s.io", "v1", "rolebindings"),
}

func deployApp(t *testing.T, e *env) {
	t.Helper()
	e.ensureWidgets(t)
	e.cp.Apply(t, controlplane.ExampleApp(t), e.ns)
	e.apply(t, appExtras)
}

// snapshot reads the compared objects of a namespace, normalised: what
// the server assigns is removed, so that a restored object equals its
// original.
func (e *env) snapshot(t *testing.T, ns string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, g := range compared {
		list, err := e.c.Dynamic.Resource(g).Namespace(ns).List(context.Background(),
			metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range list.Items {
			if obj.GetName() == "kube-root-ca.crt" || obj.GetName() == "default" {
				continue
			}
			out[g.Resource+"/"+obj.GetName()] = normalise(t, &obj)
		}
	}
	return out
}

func normalise(t *testing.T, obj *unstructured.Unstructured) string {
	t.Helper()
	o := obj.DeepCopy().Object
	for _, f := range append(serverFields, "managedFields", "namespace", "ownerReferences") {
		unstructured.RemoveNestedField(o, "metadata", f)
	}
	delete(o, "status")
	unstructured.RemoveNestedField(o, "spec", "clusterIP")
	unstructured.RemoveNestedField(o, "spec", "clusterIPs")
	unstructured.RemoveNestedField(o, "metadata", "annotations", "deployment.kubernetes.io/revision")
	subjects, _, _ := unstructured.NestedSlice(o, "subjects")
	for _, s := range subjects {
		delete(s.(map[string]any), "namespace")
	}
	if subjects != nil {
		_ = unstructured.SetNestedSlice(o, subjects, "subjects")
	}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func compareSnapshots(t *testing.T, want, got map[string]string) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s was not restored", k)
		} else if g != w {
			t.Errorf("%s differs after restore:\n got  %s\n want %s", k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s is new after restore", k)
		}
	}
}

// appPods waits until the Deployment's Pods settle and returns how many
// Pods and ReplicaSets the namespace has.
func (e *env) appPods(t *testing.T, ns string) (podCount, rsCount int) {
	t.Helper()
	ctx := context.Background()
	waitFor(t, "the Deployment's Pod", time.Minute, func() bool {
		ps, err := e.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=my-app"})
		return err == nil && len(ps.Items) >= 1
	})
	time.Sleep(3 * time.Second) // time for a duplicate to appear
	ps, err := e.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=my-app"})
	if err != nil {
		t.Fatal(err)
	}
	rss, err := e.cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps.Items {
		owner := metav1.GetControllerOf(&p)
		if owner == nil || owner.Kind != "ReplicaSet" {
			t.Errorf("pod %s is not controlled by a ReplicaSet: %v", p.Name, owner)
		}
	}
	return len(ps.Items), len(rss.Items)
}

func TestRoundTrip(t *testing.T) {
	e := newEnv(t)
	deployApp(t, e)
	e.appPods(t, e.ns)
	want := e.snapshot(t, e.ns)
	m := e.backup(t, archive.Spec{})
	e.deleteNamespace(t, e.ns)

	rec, outs := e.restore(t, m, Spec{})
	requirePhase(t, rec, PhaseCompleted)
	compareSnapshots(t, want, e.snapshot(t, e.ns))
	if pods, rss := e.appPods(t, e.ns); pods != 1 || rss != 1 {
		t.Errorf("%d Pods and %d ReplicaSets after restore, want 1 and 1", pods, rss)
	}
	for k, o := range outs {
		if o.Object.Resource == "pods" || o.Object.Resource == "replicasets" {
			if o.Action != ActionSkip {
				t.Errorf("%s: %s, want skip (its controller makes it)", k, o.Action)
			}
		}
	}
	if len(rec.Warnings) > 0 {
		t.Errorf("warnings: %v", rec.Warnings)
	}
}

func TestMappedNamespace(t *testing.T) {
	e := newEnv(t)
	deployApp(t, e)
	applied := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied",` +
		`"namespace":"` + e.ns + `"}}`
	e.apply(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n"+
		"  annotations:\n    "+lastApplied+": '"+applied+"'\n")
	want := e.snapshot(t, e.ns)
	m := e.backup(t, archive.Spec{})
	dst := e.ns + "-copy"
	e.cleanupNamespace(t, dst)

	rec, _ := e.restore(t, m, Spec{NamespaceMappings: map[string]string{e.ns: dst}})
	requirePhase(t, rec, PhaseCompleted)
	// The annotation of "applied" names its namespace: compared below.
	delete(want, "configmaps/applied")
	for _, ns := range []string{dst, e.ns} {
		got := e.snapshot(t, ns)
		delete(got, "configmaps/applied")
		compareSnapshots(t, want, got)
	}
	rb := e.get(t, gvr("rbac.authorization.k8s.io", "v1", "rolebindings"), dst, "reader-bind")
	subjects, _, _ := unstructured.NestedSlice(rb.Object, "subjects")
	if ns := subjects[0].(map[string]any)["namespace"]; ns != dst {
		t.Errorf("subject namespace %v, want %s", ns, dst)
	}
	last := e.get(t, configMaps, dst, "applied").GetAnnotations()[lastApplied]
	if want := `"namespace":"` + dst + `"`; !strings.Contains(last, want) {
		t.Errorf("last-applied annotation %s, want it to name %s", last, dst)
	}
	if pods, rss := e.appPods(t, dst); pods != 1 || rss != 1 {
		t.Errorf("%d Pods and %d ReplicaSets in %s, want 1 and 1", pods, rss, dst)
	}
}

func TestRestoreTwice(t *testing.T) {
	e := newEnv(t)
	deployApp(t, e)
	m := e.backup(t, archive.Spec{})
	e.deleteNamespace(t, e.ns)
	first, _ := e.restore(t, m, Spec{})
	requirePhase(t, first, PhaseCompleted)
	if first.Counts.Created == 0 {
		t.Fatalf("first restore created nothing: %+v", first.Counts)
	}

	second, outs := e.restore(t, m, Spec{})
	requirePhase(t, second, PhaseCompleted)
	if second.Counts.Created != 0 || second.Counts.Updated != 0 || second.Counts.Failed != 0 {
		t.Errorf("second restore counts %+v, want everything skipped", second.Counts)
	}
	if second.Counts.Skipped != first.Counts.Total {
		t.Errorf("second restore skipped %d of %d", second.Counts.Skipped, first.Counts.Total)
	}
	if o := outs[key("configmaps", e.ns, "settings")]; o.Reason != reasonSame {
		t.Errorf("settings: %+v, want skip as the same", o)
	}
	if len(second.Warnings) > 0 || len(second.Errors) > 0 {
		t.Errorf("second restore: warnings %v, errors %v", second.Warnings, second.Errors)
	}
}

func TestUpdatePolicy(t *testing.T) {
	e := newEnv(t)
	deployApp(t, e)
	ctx := context.Background()
	settings := func(change func(cm *corev1.ConfigMap)) {
		t.Helper()
		cms := e.cs.CoreV1().ConfigMaps(e.ns)
		cm, err := cms.Get(ctx, "settings", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		change(cm)
		if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	settings(func(cm *corev1.ConfigMap) { cm.Data["empty"], cm.Labels["flag"] = "", "" })
	m := e.backup(t, archive.Spec{})
	settings(func(cm *corev1.ConfigMap) {
		cm.Data["color"] = "red"
		cm.Data["extra"] = "kept"
		cm.Labels["tier"] = "db"
		delete(cm.Data, "empty")
		delete(cm.Labels, "flag")
	})

	rec, outs := e.restore(t, m, Spec{})
	requirePhase(t, rec, PhaseCompleted)
	o := outs[key("configmaps", e.ns, "settings")]
	wantFields := []string{"data.color", "data.empty", "metadata.labels.flag",
		"metadata.labels.tier"}
	if o.Action != ActionSkip || o.Reason != reasonDiffers || !reflect.DeepEqual(o.Fields, wantFields) {
		t.Errorf("policy none: %+v, want skip, differs in %v", o, wantFields)
	}

	rec, outs = e.restore(t, m, Spec{ExistingResourcePolicy: PolicyUpdate})
	requirePhase(t, rec, PhaseCompleted)
	if o := outs[key("configmaps", e.ns, "settings")]; o.Action != ActionUpdate {
		t.Errorf("policy update: %+v, want update", o)
	}
	got, err := e.cs.CoreV1().ConfigMaps(e.ns).Get(ctx, "settings", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, hasEmpty := got.Data["empty"]
	_, hasFlag := got.Labels["flag"]
	if got.Data["color"] != "blue" || got.Labels["tier"] != "web" || got.Data["extra"] != "kept" ||
		!hasEmpty || !hasFlag {
		t.Errorf("after update: data %v labels %v; want color blue, tier web, extra kept, "+
			"the empty data key and the empty flag label", got.Data, got.Labels)
	}
	if rec.Counts.Updated != 1 {
		t.Errorf("updated %d objects, want 1 (counts %+v)", rec.Counts.Updated, rec.Counts)
	}
}

func TestDryRun(t *testing.T) {
	e := newEnv(t)
	deployApp(t, e)
	m := e.backup(t, archive.Spec{})
	e.deleteNamespace(t, e.ns)

	dry, planned := e.restore(t, m, Spec{DryRun: true})
	requirePhase(t, dry, PhaseCompleted)
	if e.exists(namespacesR, "", e.ns) {
		t.Fatal("the dry run created the namespace")
	}
	real, done := e.restore(t, m, Spec{})
	requirePhase(t, real, PhaseCompleted)
	predicted := dry.Counts
	predicted.Unchecked = 0 // the server could not judge objects of a missing namespace
	if predicted != real.Counts || dry.Counts.Unchecked == 0 {
		t.Errorf("dry run counts %+v, real run %+v", dry.Counts, real.Counts)
	}
	for k, o := range done {
		if p, ok := planned[k]; !ok || p.Action != o.Action {
			t.Errorf("%s: dry run planned %+v, restore did %+v", k, p, o)
		}
	}

	// With the objects in place, a dry run judges each one on the server.
	ctx := context.Background()
	cm, err := e.cs.CoreV1().ConfigMaps(e.ns).Get(ctx, "settings", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["color"] = "red"
	if _, err := e.cs.CoreV1().ConfigMaps(e.ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	dry, planned = e.restore(t, m, Spec{DryRun: true, ExistingResourcePolicy: PolicyUpdate})
	requirePhase(t, dry, PhaseCompleted)
	if o := planned[key("configmaps", e.ns, "settings")]; o.Action != ActionUpdate ||
		!reflect.DeepEqual(o.Fields, []string{"data.color"}) {
		t.Errorf("dry run of update: %+v, want update of data.color", o)
	}
	if o := planned[key("secrets", e.ns, "creds")]; o.Action != ActionSkip || o.Reason != reasonSame {
		t.Errorf("dry run: creds %+v, want skip (same)", o)
	}
	got, _ := e.cs.CoreV1().ConfigMaps(e.ns).Get(ctx, "settings", metav1.GetOptions{})
	if got.Data["color"] != "red" {
		t.Error("the dry run changed the ConfigMap")
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	e.apply(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c1}\n")
	m := e.backup(t, archive.Spec{})
	ctx := context.Background()
	tests := []struct {
		name string
		req  func(*Request)
		want error
	}{
		{"no such backup", func(r *Request) { r.Backup = "missing" }, backup.ErrNotFound},
		{"bad name", func(r *Request) { r.Name = "Bad_Name" }, nil},
		{"bad policy", func(r *Request) { r.Spec.ExistingResourcePolicy = "overwrite" }, nil},
		{"bad mapping", func(r *Request) {
			r.Spec.NamespaceMappings = map[string]string{e.ns: "Not A Namespace"}
		}, nil},
		{"two namespaces into one", func(r *Request) {
			r.Spec.NamespaceMappings = map[string]string{e.ns: "merged", "other": "merged"}
		}, nil},
		{"unknown resource", func(r *Request) { r.Spec.IncludeResources = []string{"gizmos"} }, nil},
		{"bad selector", func(r *Request) { r.Spec.Selector = "a=(" }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := e.request(m, Spec{})
			tc.req(&req)
			_, err := Run(ctx, req)
			if err == nil {
				t.Fatal("restore accepted bad input")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if ok, _ := e.loc.Exists(ctx, RecordKey(req.Name)); ok {
				t.Error("a record was written for a refused restore")
			}
		})
	}

	req := e.request(m, Spec{})
	if _, err := Run(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, req); !errors.Is(err, ErrExists) {
		t.Errorf("second restore of the same name: %v, want ErrExists", err)
	}

	// Unnamed restores in the same second get names of their own.
	at := time.Date(2026, 12, 4, 10, 15, 0, 0, time.UTC)
	var names []string
	for range 3 {
		req := e.request(m, Spec{DryRun: true})
		req.Name, req.Clock = "", func() time.Time { return at }
		rec, err := Run(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, rec.Name)
	}
	want := []string{m.Name + "-20261204101500", m.Name + "-20261204101500-2",
		m.Name + "-20261204101500-3"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
}
