package backup

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/cluster"
	"github.com/cairn-backup/cairn/internal/crypt"
)

// BC-07: a CRD with no instances is still backed up, whether cluster
// resources are all in scope or the CRDs are selected by label.
func TestCase_BC07(t *testing.T) {
	e := newEnv(t)
	installCRDs(t, e)
	e.apply(t, `
apiVersion: NS.example.test/v1
kind: Widget
metadata: {name: w1, labels: {part-of: demo}}
`)
	crd := func(plural string) string {
		return path("apiextensions.k8s.io", "v1", "customresourcedefinitions", "",
			plural+"."+e.ns+".example.test")
	}
	for _, spec := range []archive.Spec{
		{IncludeClusterResources: archive.ClusterResourcesTrue, IncludeNamespaces: []string{e.ns}},
		{Selector: "part-of=demo"},
	} {
		_, objs := e.backup(t, fmt.Sprintf("bc07-%d", len(spec.Selector)), spec)
		requirePaths(t, objs, crd("widgets"), crd("gadgets"),
			path(e.ns+".example.test", "v1", "widgets", e.ns, "w1"))
	}
}

// BC-29: a label-selected backup holds the Namespace of every selected
// object, with the namespace's own labels.
func TestCase_BC29(t *testing.T) {
	e := newEnv(t)
	cs := e.cp.Clientset(t)
	ns, err := cs.CoreV1().Namespaces().Get(context.Background(), e.ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ns.Labels["team"] = "a"
	if _, err := cs.CoreV1().Namespaces().Update(context.Background(), ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.apply(t, `
apiVersion: v1
kind: ConfigMap
metadata: {name: c1, labels: {backup: "yes"}}
`)
	_, objs := e.backup(t, "bc29", archive.Spec{Selector: "backup=yes"})
	data, ok := objs[path("", "v1", "namespaces", "", e.ns)]
	if !ok {
		t.Fatal("the Namespace of a selected object is not in the backup")
	}
	if !strings.Contains(string(data), `"team":"a"`) {
		t.Fatalf("namespace stored without its labels: %s", data)
	}
	requirePaths(t, objs, path("", "v1", "configmaps", e.ns, "c1"))
}

// BC-30: an excluded namespace is not saved as a Namespace object, even
// with every cluster-scoped object in scope; a cluster-only backup can
// still select Namespace objects when asked.
func TestCase_BC30(t *testing.T) {
	e := newEnv(t)
	infra := e.cp.Namespace(t)
	_, objs := e.backup(t, "bc30", archive.Spec{ExcludeNamespaces: []string{infra},
		IncludeClusterResources: archive.ClusterResourcesTrue})
	forbidPaths(t, objs, path("", "v1", "namespaces", "", infra))
	requirePaths(t, objs, path("", "v1", "namespaces", "", e.ns))

	_, only := e.backup(t, "bc30-namespaces", archive.Spec{IncludeResources: []string{"namespaces"},
		IncludeClusterResources: archive.ClusterResourcesTrue})
	requirePaths(t, only, path("", "v1", "namespaces", "", infra))
	for p := range only {
		if !strings.HasPrefix(p, "resources/core/v1/namespaces/") {
			t.Errorf("namespaces-only backup holds %s", p)
		}
	}
}

// BC-33: an object being deleted is backed up as such: the index marks it,
// so that restore can leave out its deletion metadata.
func TestCase_BC33(t *testing.T) {
	e := newEnv(t)
	installCRDs(t, e)
	e.apply(t, `
apiVersion: NS.example.test/v1
kind: Widget
metadata: {name: g1, finalizers: [example.test/hold]}
`)
	gvr := schema.GroupVersionResource{Group: e.ns + ".example.test", Version: "v1", Resource: "widgets"}
	ri := e.c.Dynamic.Resource(gvr).Namespace(e.ns)
	if err := ri.Delete(context.Background(), "g1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		patch := []byte(`{"metadata":{"finalizers":null}}`)
		_, _ = ri.Patch(context.Background(), "g1", "application/merge-patch+json", patch, metav1.PatchOptions{})
	})
	m, _ := e.backup(t, "bc33", archive.Spec{IncludeNamespaces: []string{e.ns}})
	entries, err := Objects(context.Background(), e.loc, m, crypt.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if en.Ref.Name == "g1" {
			if !en.Deleting {
				t.Fatal("index does not mark g1 as being deleted")
			}
			return
		}
	}
	t.Fatal("g1 is not in the backup")
}

// BC-38: many objects of one kind. The backup holds exactly as many as the
// cluster, read with limit and continue.
func TestCase_BC38(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 25,000 objects")
	}
	e := newEnv(t)
	bulk2 := e.cp.Namespace(t)
	e.cp.CreateConfigMaps(t, e.ns, 5000, 2048)
	e.cp.CreateConfigMaps(t, bulk2, 20000, 1)

	var lists, continued atomic.Int64
	cfg := e.cp.RESTConfig()
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			q := r.URL.Query()
			if strings.HasSuffix(r.URL.Path, "/configmaps") && q.Get("limit") != "" {
				lists.Add(1)
				if q.Get("continue") != "" {
					continued.Add(1)
				}
			}
			return rt.RoundTrip(r)
		})
	}
	c, err := cluster.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := e.run(t, Request{Name: "bc38", Cluster: c, Location: e.loc,
		Spec: archive.Spec{IncludeNamespaces: []string{e.ns, bulk2}, IncludeResources: []string{"configmaps"}}})
	want := 5000 + 20000 + 2 // and each namespace's kube-root-ca.crt
	for _, ti := range m.Types {
		if ti.Resource == "configmaps" && ti.Count != want {
			t.Fatalf("backup holds %d ConfigMaps, the cluster %d", ti.Count, want)
		}
	}
	if continued.Load() < 45 {
		t.Fatalf("%d list calls, %d with continue; want pages of 500", lists.Load(), continued.Load())
	}
	out, _ := json.Marshal(m.Totals)
	t.Logf("totals %s, %d list calls", out, lists.Load())
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
