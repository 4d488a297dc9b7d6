package archive

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixtureTime is the start time stamped on test archives.
var fixtureTime = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// fixtureObjects is a fixed set covering the layout's cases: the core group
// and named groups, namespaced and cluster-scoped objects, names with ':',
// '@', '%' and capitals, and an object being deleted. The frozen archive
// testdata/v1/archive.tar.zst holds exactly these; TestFixtureOpens compares
// the two, so change them only together with a new format version.
func fixtureObjects() []Object {
	obj := func(g, v, res, ns, name, data string) Object {
		return Object{Ref: ObjectRef{g, v, res, ns, name}, Data: []byte(data)}
	}
	objs := []Object{
		obj("", "v1", "namespaces", "", "shop",
			`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"},`+
				`"status":{"phase":"Active"}}`),
		obj("", "v1", "configmaps", "shop", "app-config",
			`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"app-config",`+
				`"namespace":"shop"},"data":{"color":"blue"}}`),
		obj("", "v1", "configmaps", "shop", "app-extra",
			`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"app-extra",`+
				`"namespace":"shop"},"data":{"color":"pink"}}`),
		obj("apps", "v1", "deployments", "shop", "web",
			`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web",`+
				`"namespace":"shop"},"spec":{"replicas":2},"status":{"readyReplicas":2}}`),
		obj("rbac.authorization.k8s.io", "v1", "clusterroles", "", "system:controller:web",
			`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole",`+
				`"metadata":{"name":"system:controller:web"},"rules":[]}`),
		obj("rbac.authorization.k8s.io", "v1", "rolebindings", "shop", "view:alice@example.com",
			`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding",`+
				`"metadata":{"name":"view:alice@example.com","namespace":"shop"}}`),
		obj("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "", "OIDC:Admins%team.1",
			`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding",`+
				`"metadata":{"name":"OIDC:Admins%team.1"}}`),
		obj("example.test", "v1", "widgets", "shop", "g1",
			`{"apiVersion":"example.test/v1","kind":"Widget","metadata":{"name":"g1",`+
				`"namespace":"shop","finalizers":["example.test/hold"],`+
				`"deletionTimestamp":"2024-01-01T00:00:00Z"}}`),
		obj("rbac.authorization.k8s.io", "v1", "clusterroles", "", "ünïcode:viewer",
			`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole",`+
				`"metadata":{"name":"ünïcode:viewer"}}`),
		obj("example.test", "v1", "gadgets", "", "<big> & \"small\"",
			`{"apiVersion":"example.test/v1","kind":"Gadget",`+
				`"metadata":{"name":"<big> & \"small\""}}`),
	}
	objs[7].Deleting = true
	return objs
}

// writeArchive writes objs to a new archive and returns its bytes.
func writeArchive(t testing.TB, objs []Object) ([]byte, Summary) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, WriterOptions{TempDir: t.TempDir(), ModTime: fixtureTime})
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	for _, o := range objs {
		if err := w.Add(o); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	sum, err := w.Close()
	if err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.Bytes(), sum
}

func decompress(t testing.TB, data []byte) []byte {
	t.Helper()
	d, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	out, err := d.DecodeAll(data, nil)
	if err != nil {
		t.Fatalf("decompress: %v", err)
	}
	return out
}

func compress(t testing.TB, data []byte) []byte {
	t.Helper()
	e, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Close() }()
	return e.EncodeAll(data, nil)
}

// entry is one tar entry of a test archive.
type entry struct {
	hdr  tar.Header
	data []byte
}

func entries(t testing.TB, archive []byte) []entry {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(decompress(t, archive)))
	var out []entry
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		out = append(out, entry{hdr: *hdr, data: data})
	}
}

// build makes an archive of the given entries, compressed.
func build(t testing.TB, es []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		hdr := e.hdr
		hdr.Size = int64(len(e.data))
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatalf("write tar: %v", err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatalf("write tar: %v", err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return compress(t, buf.Bytes())
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run with -update if the change is "+
			"intended\n--- got\n%s\n--- want\n%s", p, got, want)
	}
}

// tarListing renders every header field that the format fixes, one entry a
// line, and the digest of the whole tar stream.
func tarListing(t *testing.T, tarData []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	tr := tar.NewReader(bytes.NewReader(tarData))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%c %04o %d/%d %q/%q %s %s %d %s\n", hdr.Typeflag, hdr.Mode,
			hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname, hdr.Format,
			hdr.ModTime.UTC().Format(time.RFC3339), hdr.Size, hdr.Name)
	}
	fmt.Fprintf(&b, "# %d bytes, sha256 %s\n", len(tarData), sha256Hex(tarData))
	return b.Bytes()
}
