package backup

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairn-backup/cairn/internal/archive"
)

func TestNamespacesLeft(t *testing.T) {
	// Keys sort as namespace/name, and '-' sorts before '/': every key of
	// "a-b" comes before every key of "a".
	all := []string{"a", "a-b", "a-c", "b", "c"}
	tests := []struct {
		last string
		want []string
	}{
		{last: "0/x", want: all},
		{last: "a-b/cm-1", want: []string{"a", "a-b", "a-c", "b", "c"}},
		{last: "a-c/cm-9", want: []string{"a", "a-c", "b", "c"}},
		{last: "a/cm-1", want: []string{"a", "b", "c"}},
		{last: "a0", want: []string{"b", "c"}},
		{last: "b/zzz", want: []string{"b", "c"}},
		{last: "d/x", want: nil},
	}
	for _, tt := range tests {
		if got := namespacesLeft(all, tt.last); !slices.Equal(got, tt.want) {
			t.Errorf("after %q: %v, want %v", tt.last, got, tt.want)
		}
	}
}

// TestFanOut backs up namespaces whose type has pages enough to be read
// namespace by namespace, with names that sort apart as keys and as
// strings, while the cluster changes after the snapshot: every object of
// the snapshot is taken once, and nothing later.
func TestFanOut(t *testing.T) {
	e := newEnv(t)
	cs := e.cp.Clientset(t)
	ctx := context.Background()
	namespaces := []string{e.ns, e.ns + "-a", e.ns + "-a-b", e.ns + "-b"}
	for _, ns := range namespaces[1:] {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}) })
	}
	for _, ns := range namespaces {
		e.cp.CreateConfigMaps(t, ns, 30, 10)
	}
	req := e.request("fan-out", archive.Spec{IncludeNamespaces: []string{e.ns + "*"},
		IncludeResources: []string{"configmaps"}})
	req.PageSize, req.Workers = 10, 4
	req.afterSnapshot = func(string) {
		late := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}
		if _, err := cs.CoreV1().ConfigMaps(e.ns+"-b").Create(ctx, late,
			metav1.CreateOptions{}); err != nil {
			t.Error(err)
		}
		if err := cs.CoreV1().ConfigMaps(e.ns+"-a").Delete(ctx, "cm-00003",
			metav1.DeleteOptions{}); err != nil {
			t.Error(err)
		}
	}
	m, objs := e.run(t, req)

	log, err := e.loc.Get(ctx, LogKey(m.Name, m.UID))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "listing namespace by namespace") {
		t.Fatalf("the backup listed configmaps in one chain; its log:\n%s", log)
	}
	for _, ns := range namespaces {
		for i := range 30 {
			requirePaths(t, objs, path("", "v1", "configmaps", ns, fmt.Sprintf("cm-%05d", i)))
		}
	}
	forbidPaths(t, objs, path("", "v1", "configmaps", e.ns+"-b", "late"))
	// Each namespace also holds the kube-root-ca.crt ConfigMap.
	want := len(namespaces) * 31
	for _, ti := range m.Types {
		if ti.Resource == "configmaps" && (ti.Count != want ||
			ti.Consistency != archive.ConsistencySnapshot || ti.ResourceVersion != m.ResourceVersion) {
			t.Errorf("configmaps: %d objects at %s (%s), want %d at the snapshot %s",
				ti.Count, ti.ResourceVersion, ti.Consistency, want, m.ResourceVersion)
		}
	}
}
