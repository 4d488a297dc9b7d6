package backup

import (
	"slices"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/archive"
)

// TestFilters runs one backup per filter over two namespaces of the test
// and checks what each takes.
func TestFilters(t *testing.T) {
	e := newEnv(t)
	other := e.cp.Namespace(t)
	for _, ns := range []string{e.ns, other} {
		e.cp.Apply(t, []byte(`
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, labels: {app: web, tier: front}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: db-config, labels: {app: db}}
---
apiVersion: v1
kind: Secret
metadata: {name: web-secret, labels: {app: web}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: skipped, labels: {app: web, cairn.dev/exclude-from-backup: "true"}}
`), ns)
	}
	cm := func(ns, name string) string { return path("", "v1", "configmaps", ns, name) }
	secret := func(ns, name string) string { return path("", "v1", "secrets", ns, name) }
	nsObj := func(ns string) string { return path("", "v1", "namespaces", "", ns) }
	both := []string{e.ns, other}

	tests := []struct {
		name      string
		spec      archive.Spec
		want, not []string
	}{
		{"one namespace", archive.Spec{IncludeNamespaces: []string{e.ns}},
			[]string{cm(e.ns, "web-config"), secret(e.ns, "web-secret"), nsObj(e.ns)},
			[]string{cm(other, "web-config"), nsObj(other), cm(e.ns, "skipped")}},
		{"glob and exclusion", archive.Spec{IncludeNamespaces: []string{"testfilters-*"},
			ExcludeNamespaces: []string{other}},
			[]string{cm(e.ns, "web-config")}, []string{cm(other, "web-config"), nsObj(other)}},
		{"include resources", archive.Spec{IncludeNamespaces: both,
			IncludeResources: []string{"cm"}},
			[]string{cm(e.ns, "db-config"), cm(other, "db-config"), nsObj(e.ns)},
			[]string{secret(e.ns, "web-secret")}},
		{"exclude resources", archive.Spec{IncludeNamespaces: both,
			ExcludeResources: []string{"configmaps", "namespaces"}},
			[]string{secret(e.ns, "web-secret")},
			[]string{cm(e.ns, "web-config"), nsObj(e.ns)}},
		{"selector", archive.Spec{IncludeNamespaces: both, Selector: "app=web,tier=front"},
			[]string{cm(e.ns, "web-config"), cm(other, "web-config"), nsObj(e.ns)},
			[]string{secret(e.ns, "web-secret"), cm(e.ns, "db-config"), cm(e.ns, "skipped")}},
		{"or-selector", archive.Spec{IncludeNamespaces: both, OrSelectors: []string{"tier=front", "app=db"}},
			[]string{cm(e.ns, "web-config"), cm(other, "db-config")},
			[]string{secret(e.ns, "web-secret")}},
		{"no cluster resources", archive.Spec{IncludeNamespaces: []string{e.ns},
			IncludeClusterResources: archive.ClusterResourcesFalse},
			[]string{cm(e.ns, "web-config"), nsObj(e.ns)},
			[]string{path("rbac.authorization.k8s.io", "v1", "clusterroles", "", "admin")}},
		{"all cluster resources", archive.Spec{IncludeNamespaces: []string{e.ns},
			IncludeClusterResources: archive.ClusterResourcesTrue},
			[]string{cm(e.ns, "web-config"), path("rbac.authorization.k8s.io", "v1", "clusterroles", "", "admin")},
			[]string{nsObj(other), path("", "v1", "nodes", "", "any")}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, objs := e.backup(t, "filter-"+string(rune('a'+i)), tt.spec)
			requirePaths(t, objs, tt.want...)
			forbidPaths(t, objs, tt.not...)
		})
	}
}

// TestWholeClusterTakesClusterScoped checks the auto mode of a backup of
// every namespace: every cluster-scoped object, but no runtime types.
func TestWholeClusterTakesClusterScoped(t *testing.T) {
	e := newEnv(t)
	m, objs := e.backup(t, "everything", archive.Spec{})
	requirePaths(t, objs,
		path("rbac.authorization.k8s.io", "v1", "clusterroles", "", "admin"),
		path("", "v1", "namespaces", "", "kube-system"),
		path("", "v1", "namespaces", "", e.ns))
	for _, ti := range m.Types {
		switch ti.Resource {
		case "events", "leases", "nodes":
			t.Errorf("runtime type %s.%s was read", ti.Resource, ti.Group)
		}
	}
	e.apply(t, `
apiVersion: v1
kind: Event
metadata: {name: ev1}
involvedObject: {kind: ConfigMap, name: any, namespace: NS}
reason: Tested
message: an event for the backup to take
`)
	_, withEvents := e.run(t, Request{Name: "with-events", Cluster: e.c, Location: e.loc,
		Spec: archive.Spec{IncludeEvents: true}})
	var core, grouped int
	for p := range withEvents {
		switch {
		case strings.HasPrefix(p, "resources/core/v1/events/"):
			core++
		case strings.HasPrefix(p, "resources/events.k8s.io/v1/events/"):
			grouped++
		}
	}
	if core != 0 || grouped == 0 {
		t.Fatalf("events: %d core, %d events.k8s.io; want them once, from events.k8s.io", core, grouped)
	}
}

// TestUnmatchedIncludeNamespaces checks that each --include-namespaces
// entry that names no Namespace is one warning of a backup that still
// completes, whether or not the backup lists the Namespaces itself.
func TestUnmatchedIncludeNamespaces(t *testing.T) {
	e := newEnv(t)
	missing := e.ns + "-missing"
	noMatch := "nomatch-" + e.ns + "-*"
	named := `--include-namespaces "` + missing + `": no namespace of that name`
	matchedNone := `--include-namespaces "` + noMatch + `": matched no namespace`

	tests := []struct {
		name    string
		spec    archive.Spec
		reasons []string
	}{
		{"existing name", archive.Spec{IncludeNamespaces: []string{e.ns}}, nil},
		{"existing pattern", archive.Spec{IncludeNamespaces: []string{"testunmatched*"}}, nil},
		{"one missing name", archive.Spec{IncludeNamespaces: []string{e.ns, missing}},
			[]string{named}},
		{"pattern matching none", archive.Spec{IncludeNamespaces: []string{e.ns, noMatch}},
			[]string{matchedNone}},
		{"excluded yet existing", archive.Spec{IncludeNamespaces: []string{e.ns},
			ExcludeNamespaces: []string{e.ns}}, nil},
		{"namespaces not listed", archive.Spec{IncludeNamespaces: []string{e.ns, missing},
			ExcludeResources: []string{"namespaces"}}, []string{named}},
		{"no cluster resources", archive.Spec{IncludeNamespaces: []string{missing, e.ns},
			IncludeResources:        []string{"configmaps"},
			IncludeClusterResources: archive.ClusterResourcesFalse}, []string{named}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := e.backup(t, "unmatched-"+string(rune('a'+i)), tt.spec)
			if m.Phase != archive.PhaseCompleted {
				t.Errorf("phase %s, want %s", m.Phase, archive.PhaseCompleted)
			}
			var got []string
			for _, w := range m.Warnings {
				if strings.HasPrefix(w.Reason, "--include-namespaces ") {
					got = append(got, w.Reason)
				}
			}
			if !slices.Equal(got, tt.reasons) {
				t.Errorf("warnings %q, want %q", got, tt.reasons)
			}
		})
	}
}
