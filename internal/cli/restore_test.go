package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/cairn-backup/cairn/test/controlplane"
)

func TestRestoreCommands(t *testing.T) {
	cp := controlplane.Shared(t)
	ns := cp.Namespace(t)
	cp.Apply(t, controlplane.ExampleApp(t), ns)
	loc := t.TempDir()
	if out, code := cairn(t, "backup", "create", "app-1", "--include-namespaces", ns,
		"--location", loc); code != 0 {
		t.Fatalf("backup: exit %d: %s", code, out)
	}
	cs := cp.Clientset(t)
	ctx := context.Background()
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("namespace %s not deleted", ns)
		}
		time.Sleep(200 * time.Millisecond)
	}

	out, code := cairn(t, "restore", "create", "plan", "--from-backup", "app-1",
		"--location", loc, "--dry-run")
	if code != 0 || !strings.Contains(out, "Restore plan Completed") ||
		!strings.Contains(out, "create  deployments.apps/v1") {
		t.Fatalf("dry run: exit %d: %s", code, out)
	}
	_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("the dry run created namespace %s: %v", ns, err)
	}

	out, code = cairn(t, "restore", "create", "back", "--from-backup", "app-1",
		"--location", loc, "-o", "json")
	var rec struct {
		Phase  string `json:"phase"`
		Counts struct {
			Created int `json:"created"`
		} `json:"counts"`
		Outcomes []struct {
			Action string `json:"action"`
		} `json:"outcomes"`
	}
	if err := json.Unmarshal([]byte(out), &rec); err != nil || code != 0 {
		t.Fatalf("restore -o json: exit %d, %v: %s", code, err, out)
	}
	if rec.Phase != "Completed" || rec.Counts.Created < 3 || len(rec.Outcomes) == 0 {
		t.Fatalf("restore record %+v", rec)
	}
	_, err = cs.AppsV1().Deployments(ns).Get(ctx, "my-deployment", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the Deployment is not back: %v", err)
	}

	out, code = cairn(t, "restore", "list", "--location", loc)
	if code != 0 || !strings.Contains(out, "back") || !strings.Contains(out, "plan") {
		t.Fatalf("list: exit %d: %s", code, out)
	}
	out, code = cairn(t, "restore", "describe", "back", "--details", "--location", loc)
	if code != 0 || !strings.Contains(out, "Phase:       Completed") ||
		!strings.Contains(out, "created  persistentvolumeclaims/v1") {
		t.Fatalf("describe: exit %d: %s", code, out)
	}
	out, code = cairn(t, "restore", "logs", "back", "--location", loc)
	if code != 0 || !strings.Contains(out, `"msg":"restore finished"`) {
		t.Fatalf("logs: exit %d: %s", code, out)
	}
}

// TestRestoreBadInput checks that bad input exits 2 with a message.
func TestRestoreBadInput(t *testing.T) {
	cp := controlplane.Shared(t)
	ns := cp.Namespace(t)
	loc := t.TempDir()
	if out, code := cairn(t, "backup", "create", "b1", "--include-namespaces", ns,
		"--location", loc); code != 0 {
		t.Fatalf("backup: exit %d: %s", code, out)
	}
	if out, code := cairn(t, "restore", "create", "taken", "--from-backup", "b1",
		"--location", loc); code != 0 {
		t.Fatalf("restore: exit %d: %s", code, out)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"x"}, "--from-backup is required"},
		{[]string{"taken", "--from-backup", "b1"}, "restore already exists"},
		{[]string{"--from-backup", "b1", "--namespace-mappings", "a"}, "want src:dst"},
		{[]string{"--from-backup", "b1", "--namespace-mappings", "a:b,a:c"}, "mapped twice"},
		{[]string{"--from-backup", "b1", "--existing-resource-policy", "replace"},
			"must be none or update"},
		{[]string{"--from-backup", "b1", "--include-resources", "gizmos"},
			`unknown resource type "gizmos"`},
		{[]string{"--from-backup", "b1", "-o", "xml"}, "must be json or yaml"},
		{[]string{"a", "b", "--from-backup", "b1"}, "takes at most NAME"},
		{[]string{"Bad/Name", "--from-backup", "b1"}, `restore name "Bad/Name"`},
		{[]string{"--from-backup", "x/../../y"}, `backup name "x/../../y"`},
		{[]string{"--from-backup", "b1", "--namespace-mappings", "a:Bad_NS"},
			`namespace mapping a:Bad_NS: "Bad_NS"`},
	}
	// A backup that is not there is not found, as in every command.
	if out, code := cairn(t, "restore", "create", "--from-backup", "missing",
		"--location", loc); code != 1 || !strings.Contains(out, "backup not found") {
		t.Errorf("missing backup: exit %d, output %q; want exit 1, not found", code, out)
	}
	for _, tt := range tests {
		args := append([]string{"restore", "create"}, tt.args...)
		out, code := cairn(t, append(args, "--location", loc)...)
		if code != 2 || !strings.Contains(out, tt.want) {
			t.Errorf("%v: exit %d, output %q; want exit 2 and %q", tt.args, code, out, tt.want)
		}
	}
}

func TestUnknownSubcommand(t *testing.T) {
	for _, args := range [][]string{{"bogus"}, {"backup", "bogus"}, {"restore", "bogus"}} {
		out, code := cairn(t, args...)
		if code != 2 || !strings.Contains(out, `unknown command "bogus"`) {
			t.Errorf("%v: exit %d: %s", args, code, out)
		}
	}
	if out, code := cairn(t, "restore"); code != 0 || !strings.Contains(out, "Available Commands") {
		t.Errorf("restore alone: exit %d: %s", code, out)
	}
}

// TestRestoreFailedExitCode checks that a restore that does not complete
// exits 1 with -o json as without it, so scripts reading the JSON learn the
// outcome from the exit code too; the JSON on stdout says why.
func TestRestoreFailedExitCode(t *testing.T) {
	cp := controlplane.Shared(t)
	src, held := cp.Namespace(t), cp.Namespace(t)
	cp.Apply(t, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n"), src)
	cp.Apply(t, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, "+
		"finalizers: [example.test/hold]}\n"), held)
	loc := t.TempDir()
	if out, code := cairn(t, "backup", "create", "b1", "--include-namespaces", src,
		"--location", loc); code != 0 {
		t.Fatalf("backup: exit %d: %s", code, out)
	}
	// The restore maps into a namespace that stays Terminating.
	ctx := context.Background()
	cs := cp.Clientset(t)
	t.Cleanup(func() {
		_, _ = cs.CoreV1().ConfigMaps(held).Patch(ctx, "held", types.MergePatchType,
			[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	})
	if err := cs.CoreV1().Namespaces().Delete(ctx, held, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	for _, format := range []string{"text", "json", "yaml"} {
		t.Run("output "+format, func(t *testing.T) {
			args := []string{"restore", "create", "r-" + format, "--from-backup", "b1",
				"--location", loc,
				"--namespace-mappings", src + ":" + held, "--namespace-wait", "1s"}
			if format != "text" {
				args = append(args, "-o", format)
			}
			out, code := cairn(t, args...)
			if code != 1 || !strings.Contains(out, "ended PartiallyFailed") {
				t.Fatalf("exit %d, want 1 and the phase in the error: %s", code, out)
			}
			var rec struct {
				Phase string `json:"phase"`
			}
			var err error
			switch format {
			case "json":
				err = json.NewDecoder(strings.NewReader(out)).Decode(&rec)
			case "yaml": // the command's error follows the document
				err = yaml.Unmarshal([]byte(out[:strings.LastIndex(out, "\n")+1]), &rec)
			}
			if format != "text" && (err != nil || rec.Phase != "PartiallyFailed") {
				t.Fatalf("-o %s: phase %q, %v: %s", format, rec.Phase, err, out)
			}
		})
	}
}
