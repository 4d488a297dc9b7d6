package archive

import (
	"errors"
	"strings"
	"testing"
)

func TestPath(t *testing.T) {
	tests := []struct {
		name string
		ref  ObjectRef
		want string
	}{
		{"core namespaced", ObjectRef{"", "v1", "configmaps", "shop", "app"},
			"resources/core/v1/configmaps/namespaces/shop/app.json"},
		{"core cluster-scoped", ObjectRef{"", "v1", "namespaces", "", "shop"},
			"resources/core/v1/namespaces/cluster/shop.json"},
		{"grouped namespaced", ObjectRef{"apps", "v1", "deployments", "shop", "web"},
			"resources/apps/v1/deployments/namespaces/shop/web.json"},
		{"grouped cluster-scoped with colons", ObjectRef{"rbac.authorization.k8s.io", "v1",
			"clusterroles", "", "system:aggregate-to-view"},
			"resources/rbac.authorization.k8s.io/v1/clusterroles/cluster/" +
				"system:aggregate-to-view.json"},
		{"dots and capitals", ObjectRef{"example.test", "v1beta1", "widgets", "a", "Big.W@x%2F"},
			"resources/example.test/v1beta1/widgets/namespaces/a/Big.W@x%2F.json"},
		{"name ending in .json", ObjectRef{"", "v1", "configmaps", "a", "x.json"},
			"resources/core/v1/configmaps/namespaces/a/x.json.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.ref.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			got := tt.ref.Path()
			if got != tt.want {
				t.Errorf("Path() = %q, want %q", got, tt.want)
			}
			back, err := ParsePath(got)
			if err != nil || back != tt.ref {
				t.Errorf("ParsePath(%q) = %+v, %v; want %+v", got, back, err, tt.ref)
			}
		})
	}
}

func TestParsePathRefuses(t *testing.T) {
	long := "resources/core/v1/configmaps/namespaces/a/" + strings.Repeat("x", MaxPathLen) + ".json"
	tests := []struct {
		name string
		path string
	}{
		{"empty", ""},
		{"absolute", "/resources/core/v1/configmaps/namespaces/a/b.json"},
		{"parent at the start", "../resources/core/v1/configmaps/namespaces/a/b.json"},
		{"parent in the middle", "resources/core/v1/../../../etc/namespaces/a/passwd.json"},
		{"parent as the name", "resources/core/v1/configmaps/namespaces/a/...json"},
		{"parent as the namespace", "resources/core/v1/configmaps/namespaces/../b.json"},
		{"dot as the name", "resources/core/v1/configmaps/cluster/..json"},
		{"dot segment", "resources/./core/v1/configmaps/cluster/b.json"},
		{"double slash", "resources//v1/configmaps/cluster/b.json"},
		{"trailing slash", "resources/core/v1/configmaps/cluster/b.json/"},
		{"outside resources", "secrets/core/v1/configmaps/cluster/b.json"},
		{"format entry", FormatEntry},
		{"index", IndexEntryName},
		{"no extension", "resources/core/v1/configmaps/cluster/b"},
		{"empty name", "resources/core/v1/configmaps/cluster/.json"},
		{"too few parts", "resources/core/v1/configmaps/b.json"},
		{"too many parts", "resources/core/v1/configmaps/namespaces/a/b/c.json"},
		{"wrong scope word", "resources/core/v1/configmaps/namespace/a/b.json"},
		{"cluster with a namespace", "resources/core/v1/configmaps/cluster/a/b.json"},
		{"NUL byte", "resources/core/v1/configmaps/cluster/a\x00b.json"},
		{"too long", long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, err := ParsePath(tt.path)
			if !errors.Is(err, ErrInvalidPath) {
				t.Errorf("ParsePath(%q) = %+v, %v; want ErrInvalidPath", tt.path, ref, err)
			}
		})
	}
}

func TestValidateRefuses(t *testing.T) {
	tests := []struct {
		name string
		ref  ObjectRef
	}{
		{"no version", ObjectRef{"", "", "configmaps", "a", "b"}},
		{"no resource", ObjectRef{"", "v1", "", "a", "b"}},
		{"no name", ObjectRef{"", "v1", "configmaps", "a", ""}},
		{"group core", ObjectRef{"core", "v1", "configmaps", "a", "b"}},
		{"name ..", ObjectRef{"", "v1", "configmaps", "a", ".."}},
		{"name .", ObjectRef{"", "v1", "configmaps", "a", "."}},
		{"slash in name", ObjectRef{"", "v1", "configmaps", "a", "b/c"}},
		{"slash in namespace", ObjectRef{"", "v1", "configmaps", "a/..", "b"}},
		{"slash in group", ObjectRef{"x/y", "v1", "configmaps", "a", "b"}},
		{"namespace ..", ObjectRef{"", "v1", "configmaps", "..", "b"}},
		{"NUL in name", ObjectRef{"", "v1", "configmaps", "a", "b\x00"}},
		{"name not UTF-8", ObjectRef{"", "v1", "configmaps", "a", "b\xff"}},
		{"too long", ObjectRef{"", "v1", "configmaps", "a", strings.Repeat("n", MaxPathLen)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.ref.Validate(); !errors.Is(err, ErrInvalidRef) {
				t.Errorf("Validate(%+v) = %v, want ErrInvalidRef", tt.ref, err)
			}
		})
	}
}

func TestRefString(t *testing.T) {
	tests := []struct {
		ref  ObjectRef
		want string
	}{
		{ObjectRef{"apps", "v1", "deployments", "shop", "web"}, "deployments.apps/v1 shop/web"},
		{ObjectRef{"", "v1", "namespaces", "", "shop"}, "namespaces/v1 shop"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.ref.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}
