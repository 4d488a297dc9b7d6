package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairn-backup/cairn/internal/archive"
)

// TestPointInTime changes the cluster after the snapshot revision is
// chosen and before any type is read: the backup must hold the state at the
// snapshot, not what a reader type after type would see.
func TestPointInTime(t *testing.T) {
	e := newEnv(t)
	cs := e.cp.Clientset(t)
	ctx := context.Background()
	e.cp.CreateConfigMaps(t, e.ns, 20, 10)
	req := e.request("pit", archive.Spec{IncludeNamespaces: []string{e.ns}})
	req.afterSnapshot = func(string) {
		// A concurrent writer: new objects, a deletion and an update.
		createCM := func(name string) {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}
			if _, err := cs.CoreV1().ConfigMaps(e.ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				t.Error(err)
			}
		}
		createCM("late-1")
		createCM("late-2")
		if err := cs.CoreV1().ConfigMaps(e.ns).Delete(ctx, "cm-00003", metav1.DeleteOptions{}); err != nil {
			t.Error(err)
		}
		cm, err := cs.CoreV1().ConfigMaps(e.ns).Get(ctx, "cm-00004", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data = map[string]string{"k": "changed"}
		if _, err := cs.CoreV1().ConfigMaps(e.ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Error(err)
		}
	}
	_, objs := e.run(t, req)
	forbidPaths(t, objs, path("", "v1", "configmaps", e.ns, "late-1"),
		path("", "v1", "configmaps", e.ns, "late-2"))
	requirePaths(t, objs, path("", "v1", "configmaps", e.ns, "cm-00003"))
	if data := objs[path("", "v1", "configmaps", e.ns, "cm-00004")]; strings.Contains(string(data), "changed") {
		t.Fatalf("backup holds the update made after the snapshot: %s", data)
	}
	for i := range 20 {
		requirePaths(t, objs, path("", "v1", "configmaps", e.ns, fmt.Sprintf("cm-%05d", i)))
	}
}

// TestCompactedSnapshot compacts etcd after the snapshot revision is chosen:
// the backup reads fresh, completes, and says which types are not at the
// snapshot.
func TestCompactedSnapshot(t *testing.T) {
	e := newEnv(t)
	e.cp.CreateConfigMaps(t, e.ns, 30, 10)
	cs := e.cp.Clientset(t)
	req := e.request("compacted", archive.Spec{IncludeNamespaces: []string{e.ns}})
	req.PageSize = 10
	req.afterSnapshot = func(string) {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "after-snapshot"}}
		if _, err := cs.CoreV1().ConfigMaps(e.ns).Create(context.Background(), cm,
			metav1.CreateOptions{}); err != nil {
			t.Error(err)
		}
		e.cp.Compact(t)
	}
	m, objs := e.run(t, req)
	if m.Phase != archive.PhaseCompleted {
		t.Fatalf("phase %s, errors %v", m.Phase, m.Errors)
	}
	fresh := 0
	for _, ti := range m.Types {
		if ti.Consistency == archive.ConsistencyFresh {
			fresh++
			if ti.Reason == "" || ti.ResourceVersion == m.ResourceVersion {
				t.Errorf("fresh type %s: reason %q, revision %s", ti.Resource, ti.Reason, ti.ResourceVersion)
			}
		}
	}
	if fresh == 0 {
		t.Fatal("no type is marked fresh after the snapshot revision was compacted")
	}
	for i := range 30 {
		requirePaths(t, objs, path("", "v1", "configmaps", e.ns, fmt.Sprintf("cm-%05d", i)))
	}
}

// TestInterrupted stops a backup in the middle: nothing is published,
// nothing is left that a later backup of the same name trips over.
func TestInterrupted(t *testing.T) {
	e := newEnv(t)
	e.cp.CreateConfigMaps(t, e.ns, 50, 100)
	ctx, cancel := context.WithCancel(context.Background())
	req := e.request("cut", archive.Spec{IncludeNamespaces: []string{e.ns}})
	req.afterSnapshot = func(string) { cancel() }
	if _, err := Run(ctx, req); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted backup returned %v, want context.Canceled", err)
	}
	keys, err := e.loc.List(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.HasSuffix(k, "manifest.json") || strings.HasSuffix(k, ".tar.zst") {
			t.Errorf("interrupted backup left %s", k)
		}
	}

	// What a killed process leaves: a half-written archive and a temporary
	// manifest file.
	root := strings.TrimPrefix(e.loc.URL, "file://")
	dir := filepath.Join(root, "backups", "cut")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"archive-dead.tar.zst", "manifest.json.18f2.tmp"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if ms, err := List(context.Background(), e.loc); err != nil || len(ms) != 0 {
		t.Fatalf("List after interruption = %d backups, %v; want none", len(ms), err)
	}
	m, objs := e.run(t, e.request("cut", archive.Spec{IncludeNamespaces: []string{e.ns}}))
	if m.Phase != archive.PhaseCompleted || len(objs) < 50 {
		t.Fatalf("retry: phase %s, %d objects", m.Phase, len(objs))
	}
	if err := Delete(context.Background(), e.loc, "cut"); err != nil {
		t.Fatal(err)
	}
	if left, _ := e.loc.List(context.Background(), "backups/cut/", ""); len(left) != 0 {
		t.Fatalf("delete left %v", left)
	}
}

// BD-02: foreign files and folders in a location, and half-deleted
// backups, are not backups and do not break listing.
func TestCase_BD02(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m, _ := e.backup(t, "b1", archive.Spec{IncludeNamespaces: []string{e.ns}})
	if _, err := Run(ctx, e.request("b2", archive.Spec{IncludeNamespaces: []string{e.ns}})); err != nil {
		t.Fatal(err)
	}
	foreign := map[string]string{
		"other-app/readme.txt":             "not cairn's",
		"backups/not-a-backup/test.txt":    "stray",
		"backups/Not_A_Name/manifest.json": "{}",
		"backups/loose-file":               "x",
	}
	for k, v := range foreign {
		if err := e.loc.Put(ctx, k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	// Half-deleted: b2's manifest is gone, its archive remains.
	if err := e.loc.Delete(ctx, ManifestKey("b2")); err != nil {
		t.Fatal(err)
	}
	ms, err := List(ctx, e.loc)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(ms) != 1 || ms[0].Name != "b1" || ms[0].UID != m.UID {
		t.Fatalf("List = %d backups, want exactly b1", len(ms))
	}
	// A new b2 can be written over what the half-deleted one left.
	if _, err := Run(ctx, e.request("b2", archive.Spec{IncludeNamespaces: []string{e.ns}})); err != nil {
		t.Fatalf("backup over a half-deleted one: %v", err)
	}
}

// A backup folder copied by hand under another name holds a manifest that
// describes the original: reading it by the new name is refused, so that
// verify and restore never act on the wrong archive.
func TestCopiedFolderRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m, _ := e.backup(t, "orig", archive.Spec{IncludeNamespaces: []string{e.ns}})
	data, err := e.loc.Get(ctx, ManifestKey("orig"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.loc.Put(ctx, ManifestKey("copy"), data); err != nil {
		t.Fatal(err)
	}
	_, err = Get(ctx, e.loc, "copy")
	if err == nil || !strings.Contains(err.Error(), "describes backup orig") {
		t.Fatalf("Get of a copied folder: %v, want a refusal naming orig", err)
	}
	ms, err := List(ctx, e.loc)
	if len(ms) != 1 || ms[0].UID != m.UID || err == nil {
		t.Errorf("List = %d backups, error %v; want orig alone and an error for copy", len(ms), err)
	}
}
