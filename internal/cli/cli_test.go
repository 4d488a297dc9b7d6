package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/cairn-backup/cairn/internal/config"
	"github.com/cairn-backup/cairn/internal/crypt"
	"github.com/cairn-backup/cairn/test/controlplane"
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

// runTests points the client configuration at a file in a new temporary
// folder, so that a developer's own configuration (named locations, a
// default location, keys) cannot change what the tests see, and runs the
// tests against the shared control plane. Tests that need a configuration
// of their own set $CAIRN_CONFIG again with t.Setenv.
func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "cairn-cli-test-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "cli tests: %v\n", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	if err := os.Setenv(config.PathEnv, filepath.Join(dir, "config.yaml")); err != nil {
		fmt.Fprintf(os.Stderr, "cli tests: %v\n", err)
		return 1
	}
	return controlplane.RunTests(m)
}

// kubeconfigFor writes a kubeconfig whose one cluster is server, and
// returns its path.
func kubeconfigFor(t *testing.T, server string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	kc := "apiVersion: v1\nkind: Config\n" +
		"clusters: [{name: c, cluster: {server: " + server + "}}]\n" +
		"contexts: [{name: c, context: {cluster: c}}]\ncurrent-context: c\n"
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// cairn runs the command tree in process against the shared control plane
// and returns its output and exit code.
func cairn(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cp := controlplane.Shared(t)
	root := NewRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"--kubeconfig", cp.Kubeconfig, "--log-level", "warn"}, args...))
	err := root.ExecuteContext(context.Background())
	if err != nil {
		out.WriteString(err.Error())
	}
	return out.String(), ExitCode(err)
}

func TestBackupCommands(t *testing.T) {
	cp := controlplane.Shared(t)
	ns := cp.Namespace(t)
	cp.Apply(t, controlplane.ExampleApp(t), ns)
	loc := t.TempDir()

	out, code := cairn(t, "backup", "create", "app-1", "--include-namespaces", ns, "--location", loc)
	if code != 0 || !strings.Contains(out, "Backup app-1 Completed") {
		t.Fatalf("create: exit %d: %s", code, out)
	}

	out, code = cairn(t, "backup", "list", "--location", loc, "-o", "json")
	var list []struct {
		Name   string `json:"name"`
		Phase  string `json:"phase"`
		Totals struct {
			Objects int `json:"objects"`
		} `json:"totals"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || code != 0 {
		t.Fatalf("list -o json: exit %d, %v: %s", code, err, out)
	}
	if len(list) != 1 || list[0].Name != "app-1" || list[0].Phase != "Completed" || list[0].Totals.Objects < 5 {
		t.Fatalf("list = %+v", list)
	}

	out, code = cairn(t, "backup", "describe", "app-1", "--details", "--location", loc, "-o", "yaml")
	var desc map[string]any
	if err := yaml.Unmarshal([]byte(out), &desc); err != nil || code != 0 {
		t.Fatalf("describe -o yaml: exit %d, %v: %s", code, err, out)
	}
	if !strings.Contains(out, "my-deployment") {
		t.Fatalf("describe --details does not list my-deployment:\n%s", out)
	}

	file := filepath.Join(t.TempDir(), "app-1.tar.zst")
	if out, code = cairn(t, "backup", "download", "app-1", "-f", file, "--location", loc); code != 0 {
		t.Fatalf("download: exit %d: %s", code, out)
	}
	if st, err := os.Stat(file); err != nil || st.Size() == 0 {
		t.Fatalf("downloaded archive: %v", err)
	}
	if out, code = cairn(t, "backup", "download", "app-1", "-f", file, "--location", loc); code != 2 {
		t.Fatalf("download over an existing file: exit %d: %s", code, out)
	}

	out, code = cairn(t, "backup", "logs", "app-1", "--location", loc)
	if code != 0 || !strings.Contains(out, `"msg":"snapshot revision chosen"`) {
		t.Fatalf("logs: exit %d: %s", code, out)
	}

	if out, code = cairn(t, "backup", "delete", "app-1", "--location", loc); code != 0 {
		t.Fatalf("delete: exit %d: %s", code, out)
	}
	if out, code = cairn(t, "backup", "describe", "app-1", "--location", loc); code == 0 {
		t.Fatalf("describe after delete succeeded: %s", out)
	}
}

// TestBackupBadInput checks that bad input exits 2 with a message and
// writes nothing.
func TestBackupBadInput(t *testing.T) {
	cp := controlplane.Shared(t)
	ns := cp.Namespace(t)
	loc := t.TempDir()
	if out, code := cairn(t, "backup", "create", "taken", "--include-namespaces", ns,
		"--location", loc); code != 0 {
		t.Fatalf("create: exit %d: %s", code, out)
	}
	before, _ := filepath.Glob(filepath.Join(loc, "*", "*", "*"))
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"taken"}, "already exists"},
		{[]string{"x", "--include-resources", "gizmos"}, `unknown resource type "gizmos"`},
		{[]string{"x", "-l", "app in ("}, "label selector"},
		{[]string{"x", "--include-cluster-resources", "maybe"}, "must be auto, true or false"},
		{[]string{"Bad_Name"}, "backup name"},
		{[]string{}, "takes NAME"},
		{[]string{"x", "-o", "xml"}, "must be json or yaml"},
	}
	for _, tt := range tests {
		args := append([]string{"backup", "create"}, tt.args...)
		out, code := cairn(t, append(args, "--location", loc)...)
		if code != 2 || !strings.Contains(out, tt.want) {
			t.Errorf("%v: exit %d, output %q; want exit 2 and %q", tt.args, code, out, tt.want)
		}
	}
	t.Run("empty passphrase", func(t *testing.T) {
		t.Setenv(crypt.PassphraseEnv, "")
		out, code := cairn(t, "backup", "create", "x", "--location", loc)
		if code != 2 || !strings.Contains(out, "$CAIRN_PASSPHRASE is set but empty") {
			t.Errorf("exit %d, output %q; want exit 2, refused as empty", code, out)
		}
	})
	after, _ := filepath.Glob(filepath.Join(loc, "*", "*", "*"))
	if len(after) != len(before) {
		t.Fatalf("bad input wrote to the location: %v", after)
	}

	bad := kubeconfigFor(t, "https://127.0.0.1:1")
	out, code := cairn(t, "backup", "create", "y", "--kubeconfig", bad, "--location", loc)
	if code != 1 || !strings.Contains(out, "cluster unreachable") {
		t.Fatalf("unreachable cluster: exit %d: %s", code, out)
	}
}

// A folder given with --location that does not exist is reported by every
// command but backup create, which makes it; none of them leaves it behind.
func TestMissingFolderLocation(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "typo")
	tests := [][]string{
		{"backup", "list"},
		{"backup", "describe", "x"},
		{"backup", "logs", "x"},
		{"backup", "verify", "x"},
		{"backup", "delete", "x"},
		{"restore", "list"},
		{"location", "check", missing},
	}
	for _, args := range tests {
		if args[0] != "location" {
			args = append(args, "--location", missing)
		}
		out, code := cairn(t, args...)
		if code != 1 || !strings.Contains(out, "not found") {
			t.Errorf("%v: exit %d, output %q; want exit 1 and not found", args, code, out)
		}
		if _, err := os.Stat(missing); !os.IsNotExist(err) {
			t.Fatalf("%v made the folder: %v", args, err)
		}
	}

	cp := controlplane.Shared(t)
	ns := cp.Namespace(t)
	if out, code := cairn(t, "backup", "create", "first", "--include-namespaces", ns,
		"--location", missing); code != 0 {
		t.Fatalf("backup create into a new folder: exit %d: %s", code, out)
	}
	if out, code := cairn(t, "backup", "list", "--location", missing); code != 0 ||
		!strings.Contains(out, "first") {
		t.Fatalf("backup list after create: exit %d: %s", code, out)
	}
}
