package restore

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cairn-backup/cairn/internal/archive"
)

// The tests in this file are the cases of shared/cases/README.md, each
// named after its id.

func TestCase_BC01(t *testing.T) {
	e := newEnv(t)
	e.apply(t, `
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {clusterIP: None, clusterIPs: ["None"], selector: {app: db}, ports: [{port: 5432}]}
`)
	e.backupAndRestore(t, Spec{})
	svc, err := e.cs.CoreV1().Services(e.ns).Get(context.Background(), "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.ClusterIP != "None" || !reflect.DeepEqual(svc.Spec.ClusterIPs, []string{"None"}) {
		t.Errorf("clusterIP %q clusterIPs %v, want None", svc.Spec.ClusterIP, svc.Spec.ClusterIPs)
	}
}

func TestCase_BC03(t *testing.T) {
	e := newEnv(t)
	e.apply(t, `
apiVersion: v1
kind: Service
metadata: {name: front}
spec: {type: NodePort, selector: {app: front}, ports: [{port: 80, nodePort: 32555}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other}
data: {k: v}
`)
	m := e.backup(t, archive.Spec{})
	ctx := context.Background()
	before, err := e.cs.CoreV1().Services(e.ns).Get(ctx, "front", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cs.CoreV1().ConfigMaps(e.ns).Delete(ctx, "other", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	rec, outs := e.restore(t, m, Spec{PreserveNodePorts: true})
	requirePhase(t, rec, PhaseCompleted)
	if o := outs[key("services", e.ns, "front")]; o.Action != ActionSkip ||
		!strings.HasPrefix(o.Reason, "exists") {
		t.Errorf("front: %+v, want skipped as existing", o)
	}
	after, err := e.cs.CoreV1().Services(e.ns).Get(ctx, "front", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != before.ResourceVersion {
		t.Error("the restore changed the existing Service")
	}
	if !e.exists(configMaps, e.ns, "other") {
		t.Error("the deleted ConfigMap was not restored")
	}

	// Negative control: another Service holds the port.
	if err := e.cs.CoreV1().Services(e.ns).Delete(ctx, "front", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.apply(t, `
apiVersion: v1
kind: Service
metadata: {name: holder}
spec: {type: NodePort, selector: {app: x}, ports: [{port: 80, nodePort: 32555}]}
`)
	rec, outs = e.restore(t, m, Spec{PreserveNodePorts: true})
	requirePhase(t, rec, PhasePartiallyFailed)
	if o := outs[key("services", e.ns, "front")]; o.Action != ActionFail ||
		!strings.Contains(o.Reason, "32555") {
		t.Errorf("front with its port taken: %+v, want a failure naming the port", o)
	}
}

func TestCase_BC05(t *testing.T) {
	e := newEnv(t)
	e.apply(t, `
apiVersion: v1
kind: Service
metadata: {name: mysql}
spec:
  type: NodePort
  selector: {app: mysql}
  ports: [{name: sql, port: 3306, nodePort: 31307}, {name: adm, port: 33062, nodePort: 31308}]
`)
	e.backupAndRestore(t, Spec{PreserveNodePorts: true})
	svc, err := e.cs.CoreV1().Services(e.ns).Get(context.Background(), "mysql", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []int32
	for _, p := range svc.Spec.Ports {
		got = append(got, p.NodePort)
	}
	if !reflect.DeepEqual(got, []int32{31307, 31308}) {
		t.Errorf("node ports %v, want [31307 31308]", got)
	}
}

func TestCase_BC06(t *testing.T) {
	e := newEnv(t)
	e.ensureWidgets(t)
	e.apply(t, "apiVersion: example.test/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3}\n")
	m := e.backup(t, archive.Spec{})
	e.deleteNamespace(t, e.ns)
	ctx := context.Background()
	if err := e.c.Dynamic.Resource(crds).Delete(ctx, "widgets.example.test",
		metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "CRD deleted", time.Minute, func() bool {
		return !e.exists(crds, "", "widgets.example.test")
	})

	rec, outs := e.restore(t, m, Spec{})
	requirePhase(t, rec, PhaseCompleted)
	o := outs[key("customresourcedefinitions", "", "widgets.example.test")]
	if o.Action != ActionCreate {
		t.Errorf("CRD: %+v, want created", o)
	}
	w := e.get(t, widgets, e.ns, "w1")
	if size, _, _ := unstructured.NestedInt64(w.Object, "spec", "size"); size != 3 {
		t.Errorf("w1 size %d, want 3", size)
	}
}

func TestCase_BC08(t *testing.T) {
	e := newEnv(t)
	thing := func(version string) string {
		return fmt.Sprintf(`
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.example.test}
spec:
  group: example.test
  scope: Namespaced
  names: {plural: things, singular: thing, kind: Thing}
  versions:
  - {name: %s, served: true, storage: true,
     schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
`, version)
	}
	thingCRD := gvr("apiextensions.k8s.io", "v1", "customresourcedefinitions")
	e.cleanupCluster(t, thingCRD, "things.example.test")
	e.cp.Apply(t, []byte(thing("v1alpha1")), "")
	waitFor(t, "things served", time.Minute, func() bool {
		_, err := e.c.Dynamic.Resource(gvr("example.test", "v1alpha1", "things")).
			Namespace(e.ns).List(context.Background(), metav1.ListOptions{})
		return err == nil
	})
	e.apply(t, "apiVersion: example.test/v1alpha1\nkind: Thing\nmetadata: {name: t1}\n")
	m := e.backup(t, archive.Spec{})
	e.deleteNamespace(t, e.ns)
	if err := e.c.Dynamic.Resource(thingCRD).Delete(context.Background(),
		"things.example.test", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "CRD deleted", time.Minute, func() bool {
		return !e.exists(thingCRD, "", "things.example.test")
	})
	e.cp.Apply(t, []byte(thing("v1")), "")
	waitFor(t, "things v1 served", time.Minute, func() bool {
		_, err := e.c.Dynamic.Resource(gvr("example.test", "v1", "things")).
			List(context.Background(), metav1.ListOptions{})
		return err == nil
	})

	rec, outs := e.restore(t, m, Spec{})
	requirePhase(t, rec, PhasePartiallyFailed)
	o := outs[key("things", e.ns, "t1")]
	if o.Action != ActionFail || !strings.Contains(o.Reason, "example.test/v1alpha1") {
		t.Errorf("t1: %+v, want a failure naming example.test/v1alpha1", o)
	}
}

func TestCase_BC10(t *testing.T) {
	e := newEnv(t)
	e.apply(t, `
apiVersion: v1
kind: ServiceAccount
metadata: {name: app-sa}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader-bind}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects:
- {kind: ServiceAccount, name: app-sa, namespace: NS}
- {kind: ServiceAccount, name: mon, namespace: monitoring}
- {kind: User, apiGroup: rbac.authorization.k8s.io, name: user-a}
- {kind: Group, apiGroup: rbac.authorization.k8s.io, name: team-a}
`)
	m := e.backup(t, archive.Spec{})
	dst := e.ns + "-dst"
	e.cleanupNamespace(t, dst)
	rec, _ := e.restore(t, m, Spec{NamespaceMappings: map[string]string{e.ns: dst}})
	requirePhase(t, rec, PhaseCompleted)

	ctx := context.Background()
	rb, err := e.cs.RbacV1().RoleBindings(dst).Get(ctx, "reader-bind", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range rb.Subjects {
		got = append(got, s.Kind+":"+s.Namespace+":"+s.Name)
	}
	want := []string{"ServiceAccount:" + dst + ":app-sa", "ServiceAccount:monitoring:mon",
		"User::user-a", "Group::team-a"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("subjects %v, want %v", got, want)
	}
	sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User: "system:serviceaccount:" + dst + ":app-sa",
		ResourceAttributes: &authzv1.ResourceAttributes{
			Namespace: dst, Verb: "list", Resource: "configmaps"},
	}}
	waitFor(t, "the ServiceAccount allowed", 30*time.Second, func() bool {
		res, err := e.cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar,
			metav1.CreateOptions{})
		return err == nil && res.Status.Allowed
	})
}

func TestCase_BC12(t *testing.T) {
	e := newEnv(t)
	pv := e.ns + "-data"
	e.cleanupCluster(t, pvs, pv)
	e.apply(t, `
apiVersion: v1
kind: PersistentVolume
metadata: {name: NS-data}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: manual
  nfs: {server: 192.0.2.20, path: /export/data}
  claimRef: {namespace: NS, name: data}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  volumeName: NS-data
  resources: {requests: {storage: 1Gi}}
`)
	ctx := context.Background()
	bound := func(ns string) func() bool {
		return func() bool {
			pvc, err := e.cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
			return err == nil && pvc.Status.Phase == corev1.ClaimBound
		}
	}
	waitFor(t, "claim bound", time.Minute, bound(e.ns))
	m := e.backup(t, archive.Spec{})
	e.deleteNamespace(t, e.ns)
	if err := e.cs.CoreV1().PersistentVolumes().Delete(ctx, pv, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "PV deleted", time.Minute, func() bool { return !e.exists(pvs, "", pv) })

	dst := e.ns + "-dst"
	e.cleanupNamespace(t, dst)
	rec, _ := e.restore(t, m, Spec{NamespaceMappings: map[string]string{e.ns: dst}})
	requirePhase(t, rec, PhaseCompleted)
	restored, err := e.cs.CoreV1().PersistentVolumes().Get(ctx, pv, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ref := restored.Spec.ClaimRef; ref == nil || ref.Namespace != dst || ref.Name != "data" {
		t.Errorf("claimRef %+v, want %s/data", ref, dst)
	}
	waitFor(t, "restored claim bound", time.Minute, bound(dst))
}

func TestCase_BC14(t *testing.T) {
	e := newEnv(t)
	other := e.cp.Namespace(t)
	var b strings.Builder
	for i := 1; i <= 50; i++ {
		fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\n---\n", i)
	}
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, " +
		"finalizers: [example.test/hold]}\n")
	e.apply(t, b.String())
	e.cp.Apply(t, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: elsewhere}\n"), other)
	m := e.backup(t, archive.Spec{IncludeNamespaces: []string{e.ns, other}})
	ctx := context.Background()
	release := func() {
		_, _ = e.cs.CoreV1().ConfigMaps(e.ns).Patch(ctx, "held", types.MergePatchType,
			[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	}
	t.Cleanup(release)
	if err := e.cs.CoreV1().Namespaces().Delete(ctx, e.ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.deleteNamespace(t, other)

	req := e.request(m, Spec{})
	req.NamespaceWait = 3 * time.Second
	start := time.Now()
	rec, outs := e.run(t, req)
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("restore took %s; the wait must be bounded", took)
	}
	requirePhase(t, rec, PhasePartiallyFailed)
	o := outs[key("configmaps", e.ns, "c7")]
	if o.Action != ActionFail || !strings.Contains(o.Reason, e.ns+" is terminating") {
		t.Errorf("c7: %+v, want a failure naming %s as terminating", o, e.ns)
	}
	if !e.exists(configMaps, other, "elsewhere") {
		t.Error("the other namespace was not restored")
	}
	held := e.get(t, configMaps, e.ns, "held")
	if !reflect.DeepEqual(held.GetFinalizers(), []string{"example.test/hold"}) {
		t.Errorf("finalizers %v: the restore must not remove them", held.GetFinalizers())
	}
}

func TestCase_BC15(t *testing.T) {
	e := newEnv(t)
	e.apply(t, `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    metadata: {labels: {app: migrate}}
    spec: {restartPolicy: Never, containers: [{name: m, image: registry.example.test/migrate:1}]}
`)
	e.backupAndRestore(t, Spec{})
	job, err := e.cs.BatchV1().Jobs(e.ns).Get(context.Background(), "migrate", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	uid := string(job.UID)
	labels := job.Spec.Template.Labels
	if job.Spec.Selector.MatchLabels["batch.kubernetes.io/controller-uid"] != uid ||
		labels["controller-uid"] != uid || labels["batch.kubernetes.io/controller-uid"] != uid {
		t.Errorf("selector %v, labels %v; want the new uid %s", job.Spec.Selector, labels, uid)
	}
	if labels["app"] != "migrate" {
		t.Errorf("labels %v lost app: migrate", labels)
	}
	if job.Spec.ManualSelector != nil && *job.Spec.ManualSelector {
		t.Error("manualSelector is set")
	}
}

func TestCase_BC16(t *testing.T) {
	e := newEnv(t)
	e.apply(t, `
apiVersion: v1
kind: Pod
metadata: {name: p1, labels: {tier: a}}
spec: {nodeName: worker-1, containers: [{name: c, image: registry.example.test/app:1}]}
`)
	m := e.backup(t, archive.Spec{})
	ctx := context.Background()
	if _, err := e.cs.CoreV1().Pods(e.ns).Patch(ctx, "p1", types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"tier":"b"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	rec, outs := e.restore(t, m, Spec{ExistingResourcePolicy: PolicyUpdate})
	requirePhase(t, rec, PhaseCompleted)
	if o := outs[key("pods", e.ns, "p1")]; o.Action != ActionUpdate ||
		!reflect.DeepEqual(o.Fields, []string{"metadata.labels.tier"}) {
		t.Errorf("p1: %+v, want an update of the tier label only", o)
	}
	p, err := e.cs.CoreV1().Pods(e.ns).Get(ctx, "p1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Labels["tier"] != "a" || p.Spec.NodeName != "worker-1" {
		t.Errorf("tier %q nodeName %q, want a and worker-1", p.Labels["tier"], p.Spec.NodeName)
	}
}
