package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/cluster"
	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/test/controlplane"
)

func TestMain(m *testing.M) { os.Exit(controlplane.RunTests(m)) }

// env is what a backup test works with: the shared control plane, a fresh
// namespace and an empty location.
type env struct {
	cp  *controlplane.ControlPlane
	ns  string
	c   *cluster.Cluster
	loc *location.Location
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
	return &env{cp: cp, ns: cp.Namespace(t), c: c, loc: loc}
}

func (e *env) request(name string, spec archive.Spec) Request {
	return Request{Name: name, Spec: spec, Cluster: e.c, Location: e.loc}
}

// backup runs a backup and returns its manifest and objects by path.
func (e *env) backup(t *testing.T, name string, spec archive.Spec) (*archive.Manifest, map[string][]byte) {
	t.Helper()
	return e.run(t, e.request(name, spec))
}

func (e *env) run(t *testing.T, req Request) (*archive.Manifest, map[string][]byte) {
	t.Helper()
	m, err := Run(context.Background(), req)
	if err != nil {
		t.Fatalf("backup %s: %v", req.Name, err)
	}
	return m, e.read(t, m)
}

// read reads a published backup back through the archive reader, which
// checks every object against the index.
func (e *env) read(t *testing.T, m *archive.Manifest) map[string][]byte {
	t.Helper()
	got, err := Get(context.Background(), e.loc, m.Name)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := OpenArchive(context.Background(), e.loc, got)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	r, err := archive.NewReader(rc)
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string][]byte{}
	for {
		obj, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read archive: %v", err)
		}
		objs[obj.Ref.Path()] = obj.Data
	}
	if len(objs) != got.Totals.Objects {
		t.Fatalf("archive holds %d objects, manifest says %d", len(objs), got.Totals.Objects)
	}
	return objs
}

// path builds an archive path; group "" is the core group.
func path(group, version, resource, ns, name string) string {
	return archive.ObjectRef{Group: group, Version: version, Resource: resource,
		Namespace: ns, Name: name}.Path()
}

func requirePaths(t *testing.T, objs map[string][]byte, want ...string) {
	t.Helper()
	for _, p := range want {
		if _, ok := objs[p]; !ok {
			t.Errorf("backup lacks %s", p)
		}
	}
}

func forbidPaths(t *testing.T, objs map[string][]byte, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, ok := objs[p]; ok {
			t.Errorf("backup holds %s, which it should not", p)
		}
	}
}

// apply creates YAML objects in the test namespace; NS in the text is
// replaced by the namespace's name first.
func (e *env) apply(t *testing.T, yaml string) {
	t.Helper()
	e.cp.Apply(t, []byte(strings.ReplaceAll(yaml, "NS", e.ns)), e.ns)
}

// boundPV creates a StorageClass, a PersistentVolume and a claim bound to it
// in the namespace, and waits until the PV controller binds them.
func boundPV(t *testing.T, e *env) (pv, sc string) {
	t.Helper()
	e.apply(t, `
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: NS-manual}
provisioner: kubernetes.io/no-provisioner
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: NS-pv}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: NS-manual
  hostPath: {path: /tmp/NS}
  claimRef: {namespace: NS, name: bound-pvc}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: bound-pvc}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: NS-manual
  volumeName: NS-pv
  resources: {requests: {storage: 1Gi}}
`)
	cs := e.cp.Clientset(t)
	t.Cleanup(func() {
		ctx := context.Background()
		_ = cs.CoreV1().PersistentVolumes().Delete(ctx, e.ns+"-pv", metav1.DeleteOptions{})
		_ = cs.StorageV1().StorageClasses().Delete(ctx, e.ns+"-manual", metav1.DeleteOptions{})
	})
	waitFor(t, "claim bound", func() bool {
		pvc, err := cs.CoreV1().PersistentVolumeClaims(e.ns).Get(context.Background(),
			"bound-pvc", metav1.GetOptions{})
		return err == nil && pvc.Status.Phase == corev1.ClaimBound
	})
	return e.ns + "-pv", e.ns + "-manual"
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func archiveGVR(group, version, resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: group, Version: version, Resource: resource}
}

type tarEntry struct {
	hdr  *tar.Header
	name string
	data []byte
}

func readTar(t *testing.T, data []byte) []tarEntry {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var out []tarEntry
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarEntry{hdr: hdr, name: hdr.Name, data: b})
	}
}

func writeTar(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, en := range entries {
		hdr := *en.hdr
		hdr.Size = int64(len(en.data))
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(en.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
