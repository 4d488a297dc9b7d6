package restore

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/cairn-backup/cairn/internal/archive"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name, want, live string
		patch            string // JSON; "" for none
		fields           []string
	}{
		{"same", `{"data":{"a":"1"}}`, `{"data":{"a":"1"}}`, "", nil},
		{"defaulted fields of live are no difference",
			`{"spec":{"x":1}}`, `{"spec":{"x":1,"y":2}}`, "", nil},
		{"changed value", `{"data":{"a":"1","b":"2"}}`, `{"data":{"a":"9","b":"2"}}`,
			`{"data":{"a":"1"}}`, []string{"data.a"}},
		{"missing key", `{"metadata":{"labels":{"t":"a"}}}`, `{"metadata":{}}`,
			`{"metadata":{"labels":{"t":"a"}}}`, []string{"metadata.labels"}},
		{"lists compare whole", `{"spec":{"l":[1,2]}}`, `{"spec":{"l":[1,3]}}`,
			`{"spec":{"l":[1,2]}}`, []string{"spec.l"}},
		{"server-owned fields ignored",
			`{"metadata":{"managedFields":[1],"ownerReferences":[2]},"status":{"a":1}}`,
			`{"metadata":{"managedFields":[3]},"status":{"a":2}}`, "", nil},
		{"empty values absent on the server", `{"spec":{"b":{},"c":[],"d":null}}`, `{"spec":{}}`,
			"", nil},
		{"empty strings are values", `{"data":{"a":""},"metadata":{"labels":{"l":""}}}`,
			`{"data":{},"metadata":{"labels":{}}}`,
			`{"data":{"a":""},"metadata":{"labels":{"l":""}}}`,
			[]string{"data.a", "metadata.labels.l"}},
		{"numbers as int or float", `{"spec":{"n":3}}`, `{"spec":{"n":3.0}}`, "", nil},
		{"what the server added to list elements is no difference",
			`{"spec":{"ports":[{"port":80}]}}`, `{"spec":{"ports":[{"port":80,"nodePort":31000}]}}`,
			"", nil},
		{"a changed list element sends the whole list",
			`{"spec":{"ports":[{"port":80},{"port":81}]}}`,
			`{"spec":{"ports":[{"port":80,"nodePort":1},{"port":82}]}}`,
			`{"spec":{"ports":[{"port":80},{"port":81}]}}`, []string{"spec.ports"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			patch, fields := diff(decode(t, tc.want), decode(t, tc.live), "")
			if !reflect.DeepEqual(fields, tc.fields) {
				t.Errorf("fields %v, want %v", fields, tc.fields)
			}
			if tc.patch == "" {
				if patch != nil {
					t.Errorf("patch %v, want none", patch)
				}
				return
			}
			if !reflect.DeepEqual(patch, any(decode(t, tc.patch))) {
				t.Errorf("patch %v, want %s", patch, tc.patch)
			}
		})
	}
}

func TestTiers(t *testing.T) {
	tests := []struct {
		group, resource, ns string
		want                int
	}{
		{"apiextensions.k8s.io", "customresourcedefinitions", "", tierCRDs},
		{"", "namespaces", "", tierNamespaces},
		{"storage.k8s.io", "storageclasses", "", tierClusterPrereqs},
		{"", "persistentvolumes", "", tierPVs},
		{"", "persistentvolumeclaims", "a", tierPVCs},
		{"", "limitranges", "a", tierConfig},
		{"", "services", "a", tierNetwork},
		{"apps", "deployments", "a", tierWorkloads},
		{"example.test", "widgets", "a", tierRest},
		{"example.test", "clusterwidgets", "", tierClusterPrereqs},
		{"admissionregistration.k8s.io", "validatingwebhookconfigurations", "", tierLate},
	}
	for _, tc := range tests {
		ref := refOf(tc.group, tc.resource, tc.ns)
		if got := tierFor(ref); got != tc.want {
			t.Errorf("%s.%s: tier %d, want %d", tc.resource, tc.group, got, tc.want)
		}
	}
}

func refOf(group, resource, ns string) archive.ObjectRef {
	return archive.ObjectRef{Group: group, Version: "v1", Resource: resource, Namespace: ns,
		Name: "x"}
}

func TestDefaultName(t *testing.T) {
	at := time.Date(2026, 12, 4, 10, 15, 0, 0, time.UTC)
	tests := []struct{ backup, want string }{
		{"shop-1", "shop-1-20261204101500"},
		{strings.Repeat("a", 250), strings.Repeat("a", 235) + "-20261204101500"},
		{strings.Repeat("a", 234) + "-b", strings.Repeat("a", 234) + "-20261204101500"},
	}
	for _, tc := range tests {
		got := DefaultName(tc.backup, at)
		if got != tc.want {
			t.Errorf("DefaultName(%d chars) = %q, want %q", len(tc.backup), got, tc.want)
		}
		if errs := validation.IsDNS1123Subdomain(got + "-99"); len(errs) > 0 {
			t.Errorf("%q: %v", got, errs)
		}
	}
}
