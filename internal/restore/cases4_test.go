package restore

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/location"
)

// The restore halves of cases whose backup halves are tested in
// internal/backup.

func TestCase_BC07(t *testing.T) {
	e := newEnv(t)
	crd := func(plural, kind string) string {
		return strings.NewReplacer("PLURAL", plural, "KIND", kind).Replace(`
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: PLURAL.NS.example.test, labels: {app.example.test/part-of: demo}}
spec:
  group: NS.example.test
  scope: Namespaced
  names: {plural: PLURAL, kind: KIND}
  versions:
  - {name: v1, served: true, storage: true,
     schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
`)
	}
	names := []string{"gadgets." + e.ns + ".example.test", "gizmos." + e.ns + ".example.test"}
	for _, n := range names {
		e.cleanupCluster(t, crds, n)
	}
	e.apply(t, crd("gadgets", "Gadget")+"---\n"+crd("gizmos", "Gizmo"))
	gadgets := gvr(e.ns+".example.test", "v1", "gadgets")
	waitFor(t, "gadgets served", time.Minute, func() bool {
		_, err := e.c.Dynamic.Resource(gadgets).Namespace(e.ns).List(context.Background(),
			metav1.ListOptions{})
		return err == nil
	})
	e.apply(t, "apiVersion: NS.example.test/v1\nkind: Gadget\n"+
		"metadata: {name: g1, labels: {app.example.test/part-of: demo}}\n")
	m := e.backup(t, archive.Spec{Selector: "app.example.test/part-of=demo",
		IncludeNamespaces: []string{"*"}})
	e.deleteNamespace(t, e.ns)
	for _, n := range names {
		if err := e.c.Dynamic.Resource(crds).Delete(context.Background(), n,
			metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "CRDs deleted", time.Minute, func() bool {
		return !e.exists(crds, "", names[0]) && !e.exists(crds, "", names[1])
	})

	rec, _ := e.restore(t, m, Spec{})
	requirePhase(t, rec, PhaseCompleted)
	for _, n := range names {
		if !e.exists(crds, "", n) {
			t.Errorf("CRD %s was not restored", n)
		}
	}
	if !e.exists(gadgets, e.ns, "g1") {
		t.Error("g1 was not restored")
	}
}

func TestCase_BC29(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	vap := gvr("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies")
	binding := gvr("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings")
	e.cleanupCluster(t, vap, e.ns+"-needs-team")
	e.cleanupCluster(t, binding, e.ns+"-needs-team")
	e.apply(t, `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: NS-needs-team}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [namespaces]}
  matchConditions: [{name: this-test, expression: "object.metadata.name == 'NS'"}]
  validations:
  - expression: "has(object.metadata.labels) && 'team' in object.metadata.labels"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: NS-needs-team}
spec: {policyName: NS-needs-team, validationActions: [Deny]}
`)
	if _, err := e.cs.CoreV1().Namespaces().Patch(ctx, e.ns, types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"team":"a"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	e.apply(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c1, labels: {backup: \"yes\"}}\n")
	m := e.backup(t, archive.Spec{Selector: "backup=yes", IncludeNamespaces: []string{"*"}})
	e.deleteNamespace(t, e.ns)

	// The policy is in force: a bare namespace of that name is refused.
	waitFor(t, "the policy in force", time.Minute, func() bool {
		_, err := e.cs.CoreV1().Namespaces().Create(ctx, namespaceNamed(e.ns),
			metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil && strings.Contains(err.Error(), "ValidatingAdmissionPolicy")
	})
	rec, _ := e.restore(t, m, Spec{})
	requirePhase(t, rec, PhaseCompleted)
	ns := e.get(t, namespacesR, "", e.ns)
	if ns.GetLabels()["team"] != "a" {
		t.Errorf("namespace labels %v, want team: a", ns.GetLabels())
	}
	if !e.exists(configMaps, e.ns, "c1") {
		t.Error("c1 was not restored")
	}
}

func TestCase_BC30(t *testing.T) {
	e := newEnv(t)
	infra := e.cp.Namespace(t)
	e.apply(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c1}\n")
	m := e.backup(t, archive.Spec{IncludeNamespaces: []string{e.ns, infra},
		ExcludeNamespaces: []string{infra}, IncludeResources: []string{"namespaces", "configmaps"},
		IncludeClusterResources: archive.ClusterResourcesTrue})
	e.deleteNamespace(t, e.ns)
	e.deleteNamespace(t, infra)
	rec, _ := e.restore(t, m, Spec{})
	requirePhase(t, rec, PhaseCompleted)
	if !e.exists(configMaps, e.ns, "c1") {
		t.Error("c1 was not restored")
	}
	if e.exists(namespacesR, "", infra) {
		t.Errorf("the excluded namespace %s was created", infra)
	}
}

// A restore from a read-only location, as when a new cluster restores
// what an old one wrote, works and keeps its record with the caller.
func TestReadOnlyLocation(t *testing.T) {
	e := newEnv(t)
	e.apply(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c1}\n")
	m := e.backup(t, archive.Spec{})
	e.deleteNamespace(t, e.ns)
	ctx := context.Background()
	ro, err := location.OpenWith(ctx, e.loc.URL, location.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ro.Close() }()
	req := e.request(m, Spec{})
	req.Location = ro
	rec, err := Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	requirePhase(t, rec, PhaseCompleted)
	if !e.exists(configMaps, e.ns, "c1") {
		t.Error("c1 was not restored")
	}
	if ok, _ := e.loc.Exists(ctx, RecordKey(rec.Name)); ok {
		t.Error("a record was written to a read-only location")
	}
	outs, err := Outcomes(ctx, ro, rec, req.Keys)
	if err != nil {
		t.Fatal(err)
	}
	created := 0
	for _, o := range outs {
		if o.Action == ActionCreate {
			created++
		}
	}
	if created != rec.Counts.Created || created == 0 {
		t.Errorf("%d outcomes say created, the record %d", created, rec.Counts.Created)
	}
}

// A restore into a mapped namespace beside the original, with the update
// policy, adds the copy's ServiceAccount to a ClusterRoleBinding and keeps
// the original's.
func TestMappedClusterRoleBinding(t *testing.T) {
	e := newEnv(t)
	crbs := gvr("rbac.authorization.k8s.io", "v1", "clusterrolebindings")
	e.cleanupCluster(t, crbs, e.ns+"-reader")
	e.apply(t, `
apiVersion: v1
kind: ServiceAccount
metadata: {name: app-sa}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: NS-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: app-sa, namespace: NS}]
`)
	m := e.backup(t, archive.Spec{})
	dst := e.ns + "-copy"
	e.cleanupNamespace(t, dst)
	rec, outs := e.restore(t, m, Spec{NamespaceMappings: map[string]string{e.ns: dst},
		ExistingResourcePolicy: PolicyUpdate})
	requirePhase(t, rec, PhaseCompleted)
	if o := outs[key("clusterrolebindings", "", e.ns+"-reader")]; o.Action != ActionUpdate {
		t.Errorf("binding: %+v, want update", o)
	}
	crb, err := e.cs.RbacV1().ClusterRoleBindings().Get(context.Background(), e.ns+"-reader",
		metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range crb.Subjects {
		got = append(got, s.Namespace+"/"+s.Name)
	}
	want := []string{e.ns + "/app-sa", dst + "/app-sa"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("subjects %v, want %v", got, want)
	}
}

// A namespace the backup does not hold, named in a filter or a mapping,
// is most likely a typing mistake: the restore says so.
func TestUnknownNamespaceWarned(t *testing.T) {
	e := newEnv(t)
	e.apply(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c1}\n")
	m := e.backup(t, archive.Spec{})
	rec, _ := e.restore(t, m, Spec{IncludeNamespaces: []string{"no-such-ns"},
		NamespaceMappings: map[string]string{"typo-ns": "x"}})
	requirePhase(t, rec, PhaseCompleted)
	if len(rec.Warnings) != 1 || !strings.Contains(rec.Warnings[0].Reason,
		"no namespace no-such-ns, typo-ns") {
		t.Errorf("warnings %v, want one naming no-such-ns and typo-ns", rec.Warnings)
	}
}

// An object that was being deleted when it was backed up comes back as a
// live object with its finalizers, and the restore says so.
func TestDeletingObjectWarned(t *testing.T) {
	e := newEnv(t)
	e.apply(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: going, "+
		"finalizers: [example.test/hold]}\n---\n"+
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: staying}\n")
	ctx := context.Background()
	cms := e.cs.CoreV1().ConfigMaps(e.ns)
	release := func() {
		_, _ = cms.Patch(ctx, "going", types.MergePatchType,
			[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	}
	t.Cleanup(release)
	if err := cms.Delete(ctx, "going", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	m := e.backup(t, archive.Spec{})
	release()
	waitFor(t, "going to be deleted", time.Minute, func() bool {
		return !e.exists(configMaps, e.ns, "going")
	})
	if err := cms.Delete(ctx, "staying", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	rec, _ := e.restore(t, m, Spec{})
	requirePhase(t, rec, PhaseCompleted)
	going := e.get(t, configMaps, e.ns, "going")
	if going.GetDeletionTimestamp() != nil ||
		!reflect.DeepEqual(going.GetFinalizers(), []string{"example.test/hold"}) {
		t.Errorf("going: deletion %v, finalizers %v; want live with its finalizer",
			going.GetDeletionTimestamp(), going.GetFinalizers())
	}
	var named []string
	for _, w := range rec.Warnings {
		if w.Object != nil && strings.Contains(w.Reason, "being deleted when backed up") {
			named = append(named, w.Object.Name)
		}
	}
	if !reflect.DeepEqual(named, []string{"going"}) {
		t.Errorf("warnings %v, want one naming going only", rec.Warnings)
	}
}
