package cli

import (
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/cairn-backup/cairn/test/controlplane"
)

func TestInstallCommand(t *testing.T) {
	kindsOf := func(t *testing.T, out string) map[string]int {
		t.Helper()
		kinds := map[string]int{}
		dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(out), 4096)
		for {
			var u unstructured.Unstructured
			if err := dec.Decode(&u.Object); err != nil {
				break
			}
			if u.GetKind() == "List" {
				items, _ := u.Object["items"].([]any)
				kinds["List items"] = len(items)
				continue
			}
			if len(u.Object) > 0 {
				kinds[u.GetKind()]++
			}
		}
		return kinds
	}

	tests := []struct {
		name  string
		args  []string
		code  int
		check func(t *testing.T, out string)
	}{
		{"dry-run yaml", []string{"install", "--dry-run", "-o", "yaml"}, 0,
			func(t *testing.T, out string) {
				k := kindsOf(t, out)
				if k["CustomResourceDefinition"] != 4 || k["ClusterRole"] != 1 ||
					k["Deployment"] != 1 || k["Namespace"] != 1 {
					t.Errorf("kinds %v", k)
				}
			}},
		{"dry-run json with restore", []string{"install", "--dry-run", "-o", "json",
			"--allow-restore", "--image", "example/cairn:1"}, 0,
			func(t *testing.T, out string) {
				var list struct{ Items []map[string]any }
				if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Items) < 10 {
					t.Fatalf("%v: %d items", err, len(list.Items))
				}
				if !strings.Contains(out, "cairn-server-restore") ||
					!strings.Contains(out, "example/cairn:1") {
					t.Errorf("no restore role or image in %s", out)
				}
			}},
		{"output without dry-run", []string{"install", "-o", "yaml"}, 2, nil},
		{"apply", []string{"install", "--namespace", "cairn-install-test"}, 0,
			func(t *testing.T, out string) {
				if !strings.Contains(out, "deployment/cairn-server applied") {
					t.Errorf("output %s", out)
				}
				cs := controlplane.Shared(t).Clientset(t)
				_, err := cs.AppsV1().Deployments("cairn-install-test").Get(t.Context(),
					"cairn-server", metav1.GetOptions{})
				if err != nil {
					t.Error(err)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, code := cairn(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, out)
			}
			if tc.check != nil {
				tc.check(t, out)
			}
		})
	}
}
