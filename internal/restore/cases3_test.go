package restore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/backup"
	"github.com/cairn-backup/cairn/internal/crypt"
)

func TestCase_BC36(t *testing.T) {
	e := newEnv(t)
	pv := e.ns + "-db"
	e.cleanupCluster(t, pvs, pv)
	e.apply(t, `
apiVersion: v1
kind: PersistentVolume
metadata: {name: NS-db}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: NS-manual
  hostPath: {path: /tmp/NS-db}
  claimRef: {namespace: NS, name: data-db-0}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 1
  serviceName: db
  selector: {matchLabels: {app: db}}
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: registry.example.test/db:1}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: NS-manual
      resources: {requests: {storage: 1Gi}}
`)
	ctx := context.Background()
	waitFor(t, "data-db-0 bound", time.Minute, func() bool {
		pvc, err := e.cs.CoreV1().PersistentVolumeClaims(e.ns).Get(ctx, "data-db-0",
			metav1.GetOptions{})
		return err == nil && pvc.Status.Phase == corev1.ClaimBound && len(pvc.OwnerReferences) > 0
	})
	m := e.backup(t, archive.Spec{})
	e.deleteNamespace(t, e.ns)
	if err := e.cs.CoreV1().PersistentVolumes().Delete(ctx, pv, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "PV deleted", time.Minute, func() bool { return !e.exists(pvs, "", pv) })

	rec, _ := e.restore(t, m, Spec{})
	requirePhase(t, rec, PhaseCompleted)
	first, err := e.cs.CoreV1().PersistentVolumeClaims(e.ns).Get(ctx, "data-db-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Second) // time for the garbage collector to act
	pvc, err := e.cs.CoreV1().PersistentVolumeClaims(e.ns).Get(ctx, "data-db-0", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("data-db-0 is gone after the restore: %v", err)
	}
	if pvc.UID != first.UID || pvc.Spec.VolumeName != pv {
		t.Errorf("data-db-0 was replaced or lost its volume: uid %s->%s, volume %q",
			first.UID, pvc.UID, pvc.Spec.VolumeName)
	}
	sts, err := e.cs.AppsV1().StatefulSets(e.ns).Get(ctx, "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range pvc.OwnerReferences {
		if o.UID != sts.UID {
			t.Errorf("owner %s %s has uid %s, not the new StatefulSet's %s", o.Kind, o.Name,
				o.UID, sts.UID)
		}
	}
}

func TestCase_BC37(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	big := map[string]map[string]string{
		"big":     {"blob": strings.Repeat("a", 400<<10)},
		"biggest": {"one": strings.Repeat("b", 475<<10), "two": strings.Repeat("c", 475<<10)},
	}
	for name, data := range big {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: data}
		if _, err := e.cs.CoreV1().ConfigMaps(e.ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e.backupAndRestore(t, Spec{})
	for name, data := range big {
		cm, err := e.cs.CoreV1().ConfigMaps(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range data {
			if cm.Data[k] != v {
				t.Errorf("%s: key %s differs after restore", name, k)
			}
		}
		if len(cm.Annotations) > 0 {
			t.Errorf("%s: the restore added annotations %v", name, keys(cm.Annotations))
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestCase_BC38(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 25,000 objects")
	}
	e := newEnv(t)
	bulk2 := e.cp.Namespace(t)
	e.cp.CreateConfigMaps(t, e.ns, 5000, 2048)
	e.cp.CreateConfigMaps(t, bulk2, 20000, 1)
	m := e.backup(t, archive.Spec{IncludeNamespaces: []string{e.ns, bulk2},
		IncludeResources: []string{"configmaps"}})
	e.deleteNamespace(t, e.ns)
	e.deleteNamespace(t, bulk2)

	start := time.Now()
	rec, _ := e.restore(t, m, Spec{})
	t.Logf("restored %d objects in %s", rec.Counts.Total, time.Since(start).Round(time.Millisecond))
	requirePhase(t, rec, PhaseCompleted)
	for ns, want := range map[string]int{e.ns: 5000, bulk2: 20000} {
		list, err := e.cs.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(list.Items) - 1; got != want { // and kube-root-ca.crt
			t.Errorf("%s holds %d ConfigMaps after restore, want %d", ns, got, want)
		}
	}
}

func TestCase_BC40(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cm, err := e.cs.CoreV1().ConfigMaps(e.ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "cfg-"}, Data: map[string]string{"k": "v"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, outs := e.backupAndRestore(t, Spec{})
	if o, ok := outs[key("configmaps", e.ns, cm.Name)]; !ok || o.Action != ActionCreate {
		t.Errorf("outcome for %s: %+v, want created under its name", cm.Name, o)
	}
	if !e.exists(configMaps, e.ns, cm.Name) {
		t.Errorf("%s was not restored under its name", cm.Name)
	}
}

func TestCase_BC41(t *testing.T) {
	e := newEnv(t)
	e.apply(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: registry.example.test/web:1}]}
`)
	ctx := context.Background()
	list := func() []corev1.Pod {
		ps, err := e.cs.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			t.Fatal(err)
		}
		return ps.Items
	}
	waitFor(t, "2 Pods", time.Minute, func() bool { return len(list()) == 2 })
	e.backupAndRestore(t, Spec{})
	waitFor(t, "2 Pods after restore", time.Minute, func() bool { return len(list()) >= 2 })
	time.Sleep(3 * time.Second)
	ps := list()
	if len(ps) != 2 {
		t.Fatalf("%d Pods with app=web, want 2", len(ps))
	}
	for _, p := range ps {
		owner := metav1.GetControllerOf(&p)
		if owner == nil || owner.Kind != "ReplicaSet" || !strings.HasPrefix(owner.Name, "web-") {
			t.Errorf("pod %s controller %v, want a ReplicaSet of web", p.Name, owner)
		}
	}
}

func TestEncryptedBackup(t *testing.T) {
	e := newEnv(t)
	e.apply(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s1}\nstringData: {k: v}\n")
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keys := crypt.Keys{Recipients: []age.Recipient{id.Recipient()}}
	m, err := backup.Run(context.Background(), backup.Request{Name: "enc", Cluster: e.c,
		Location: e.loc, Keys: keys, Spec: archive.Spec{IncludeNamespaces: []string{e.ns}}})
	if err != nil {
		t.Fatal(err)
	}
	e.deleteNamespace(t, e.ns)
	if _, err := Run(context.Background(), e.request(m, Spec{})); !errors.Is(err, crypt.ErrNoKey) {
		t.Fatalf("restore without a key: %v, want ErrNoKey", err)
	}
	if e.exists(namespacesR, "", e.ns) {
		t.Fatal("a restore that had no key touched the cluster")
	}
	req := e.request(m, Spec{})
	req.Keys = crypt.Keys{Identities: []age.Identity{id}}
	rec, _ := e.run(t, req)
	requirePhase(t, rec, PhaseCompleted)
	if rec.Encryption != crypt.Scheme {
		t.Errorf("outcomes encryption %q, want %s", rec.Encryption, crypt.Scheme)
	}
	if !e.exists(secrets, e.ns, "s1") {
		t.Error("s1 was not restored")
	}
}

func TestDamagedBackupRefused(t *testing.T) {
	e := newEnv(t)
	e.apply(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c1}\n")
	m := e.backup(t, archive.Spec{})
	ctx := context.Background()
	data, err := e.loc.Get(ctx, m.Archive.Key)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := e.loc.Delete(ctx, m.Archive.Key); err != nil {
		t.Fatal(err)
	}
	if err := e.loc.Put(ctx, m.Archive.Key, data); err != nil {
		t.Fatal(err)
	}
	e.deleteNamespace(t, e.ns)
	_, err = Run(ctx, e.request(m, Spec{}))
	if !errors.Is(err, ErrBackupUnusable) {
		t.Fatalf("restore of a damaged backup: %v, want ErrBackupUnusable", err)
	}
	if e.exists(namespacesR, "", e.ns) {
		t.Error("the refused restore touched the cluster")
	}
}

func TestCancelledRestore(t *testing.T) {
	e := newEnv(t)
	e.cp.CreateConfigMaps(t, e.ns, 1000, 64)
	m := e.backup(t, archive.Spec{})
	e.deleteNamespace(t, e.ns)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := e.request(m, Spec{})
	req.Workers = 2
	req.Progress = &Progress{}
	go func() {
		for req.Progress.Done.Load() < 50 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	rec, err := Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	requirePhase(t, rec, PhaseFailed)
	stored, err := Get(context.Background(), e.loc, rec.Name)
	if err != nil {
		t.Fatalf("the record of a cancelled restore was not stored: %v", err)
	}
	if stored.Phase != PhaseFailed || stored.Counts.Created >= 1000 {
		t.Errorf("stored record: phase %s, counts %+v", stored.Phase, stored.Counts)
	}
}
