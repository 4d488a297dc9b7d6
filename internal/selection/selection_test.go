package selection

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cairn-backup/cairn/internal/cluster"
)

func res(group, resource, singular, kind string, short ...string) cluster.Resource {
	return cluster.Resource{
		GroupVersionResource: schema.GroupVersionResource{Group: group, Version: "v1", Resource: resource},
		Singular:             singular, Kind: kind, ShortNames: short,
	}
}

var known = []cluster.Resource{
	res("apps", "deployments", "deployment", "Deployment", "deploy"),
	res("", "configmaps", "configmap", "ConfigMap", "cm"),
	res("", "events", "event", "Event", "ev"),
	res("events.k8s.io", "events", "event", "Event"),
	res("example.test", "widgets", "widget", "Widget"),
}

func TestNamespaces(t *testing.T) {
	tests := []struct {
		include, exclude []string
		ns               string
		want             bool
	}{
		{nil, nil, "shop", true},
		{[]string{"shop"}, nil, "shop", true},
		{[]string{"shop"}, nil, "shop-2", false},
		{[]string{"shop*"}, nil, "shop-2", true},
		{[]string{"*"}, []string{"kube-*"}, "kube-system", false},
		{nil, []string{"kube-*"}, "default", true},
		{[]string{"shop"}, []string{"shop"}, "shop", false},
	}
	for _, tt := range tests {
		n, err := NewNamespaces(tt.include, tt.exclude)
		if err != nil {
			t.Fatal(err)
		}
		if got := n.Match(tt.ns); got != tt.want {
			t.Errorf("include %v exclude %v: Match(%q) = %v, want %v",
				tt.include, tt.exclude, tt.ns, got, tt.want)
		}
	}
	if _, err := NewNamespaces([]string{"[bad"}, nil); err == nil {
		t.Error("malformed glob accepted")
	}
}

func TestPattern(t *testing.T) {
	tests := []struct {
		name, pattern, ns string
		match, literal    bool
	}{
		{"name", "shop", "shop", true, true},
		{"other name", "shop", "shop-2", false, true},
		{"star", "shop*", "shop-2", true, false},
		{"question mark", "shop-?", "shop-2", true, false},
		{"class", "shop-[0-9]", "shop-x", false, false},
		{"escape", `shop\-2`, "shop-2", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchPattern(tt.pattern, tt.ns); got != tt.match {
				t.Errorf("MatchPattern(%q, %q) = %v, want %v", tt.pattern, tt.ns, got, tt.match)
			}
			if got := Literal(tt.pattern); got != tt.literal {
				t.Errorf("Literal(%q) = %v, want %v", tt.pattern, got, tt.literal)
			}
		})
	}
}

func TestResources(t *testing.T) {
	tests := []struct {
		name             string
		include, exclude []string
		want             []string // GroupResources selected
	}{
		{"all", nil, nil, []string{"deployments.apps", "configmaps", "events",
			"events.events.k8s.io", "widgets.example.test"}},
		{"plural", []string{"deployments"}, nil, []string{"deployments.apps"}},
		{"short name", []string{"deploy", "cm"}, nil, []string{"deployments.apps", "configmaps"}},
		{"kind", []string{"Widget"}, nil, []string{"widgets.example.test"}},
		{"with group", []string{"widgets.example.test"}, nil, []string{"widgets.example.test"}},
		{"events in two groups", []string{"events"}, nil, []string{"events", "events.events.k8s.io"}},
		{"core group only", []string{"events."}, nil, []string{"events"}},
		{"exclude wins", []string{"*"}, []string{"events", "configmaps"},
			[]string{"deployments.apps", "widgets.example.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewResources(tt.include, tt.exclude, known)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range known {
				if r.Match(k) {
					got = append(got, k.GroupResource())
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("selected %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("selected %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestUnknownResource(t *testing.T) {
	_, err := NewResources([]string{"deployments", "gizmos", "widgets.other.test"}, nil, known)
	if err == nil {
		t.Fatal("unknown types accepted")
	}
	want := `unknown resource type "gizmos", "widgets.other.test": the cluster does not serve it ` +
		`(see kubectl api-resources)`
	if err.Error() != want {
		t.Fatalf("error = %q, want %q", err, want)
	}
}

func TestLabels(t *testing.T) {
	l, err := NewLabels("", []string{"app=web", "tier in (db,cache)"})
	if err != nil {
		t.Fatal(err)
	}
	for set, want := range map[string]bool{"app=web": true, "tier=db": true, "app=api": false} {
		sel := map[string]string{}
		k, v, _ := strings.Cut(set, "=")
		sel[k] = v
		if got := l.Match(sel); got != want {
			t.Errorf("Match(%s) = %v, want %v", set, got, want)
		}
	}
	if _, err := NewLabels("app in (", nil); err == nil {
		t.Error("malformed selector accepted")
	}
	if _, err := NewLabels("a=b", []string{"c=d"}); err == nil {
		t.Error("selector with or-selector accepted")
	}
}
