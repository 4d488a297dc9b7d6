package cli

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cairn-backup/cairn/internal/server"
	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
	"github.com/cairn-backup/cairn/test/controlplane"
)

// runServer installs the CRDs and runs a cairn server for a new namespace
// with a default BackupLocation in a folder, until the test ends.
func runServer(t *testing.T) (ns string, c client.Client) {
	t.Helper()
	cp := controlplane.Shared(t)
	crds, err := server.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Apply(t.Context(), cp.RESTConfig(), crds); err != nil {
		t.Fatal(err)
	}
	ns = cp.Namespace(t)
	c, err = client.New(cp.RESTConfig(), client.Options{Scheme: server.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	bl := &v1alpha1.BackupLocation{
		ObjectMeta: metav1.ObjectMeta{Name: "main", Namespace: ns},
		Spec:       v1alpha1.BackupLocationSpec{URL: t.TempDir(), Default: true},
	}
	if err := c.Create(t.Context(), bl); err != nil {
		t.Fatal(err)
	}
	s, err := server.New(server.Options{Config: cp.RESTConfig(), Namespace: ns,
		MetricsAddr: "0", ProbeAddr: "0", TempDir: t.TempDir(),
		ProgressInterval: 200 * time.Millisecond,
		Logger:           slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return ns, c
}

func TestScheduleCommands(t *testing.T) {
	ns, c := runServer(t)
	app := controlplane.Shared(t).Namespace(t)

	steps := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"create", []string{"schedule", "create", "every", "--schedule", "@every 2s",
			"--include-namespaces", app, "--keep-last", "2", "-n", ns}, 0,
			"Schedule every created"},
		{"create again", []string{"schedule", "create", "every", "--schedule", "@daily",
			"-n", ns}, 2, "already exists"},
		{"create without cron", []string{"schedule", "create", "x", "-n", ns}, 2,
			"--schedule is required"},
		{"bad selector", []string{"schedule", "create", "x", "--schedule", "@daily",
			"-l", "a in ((", "-n", ns}, 2, "selector"},
		{"list", []string{"schedule", "list", "-n", ns}, 0, "every"},
		{"describe", []string{"schedule", "describe", "every", "-n", ns}, 0, "keep last 2"},
		{"describe missing", []string{"schedule", "describe", "nope", "-n", ns}, 2,
			"does not exist"},
		{"pause", []string{"schedule", "pause", "every", "-n", ns}, 0, "Schedule every paused"},
		{"pause again", []string{"schedule", "pause", "every", "-n", ns}, 0, "already paused"},
		{"unpause", []string{"schedule", "unpause", "every", "-n", ns}, 0,
			"Schedule every unpaused"},
	}
	for _, s := range steps {
		out, code := cairn(t, s.args...)
		if code != s.code || !strings.Contains(out, s.want) {
			t.Fatalf("%s: exit %d, want %d with %q:\n%s", s.name, code, s.code, s.want, out)
		}
	}

	// The schedule fires every two seconds and keeps two backups.
	var d scheduleDescription
	deadline := time.Now().Add(time.Minute)
	for {
		out, code := cairn(t, "schedule", "describe", "every", "-n", ns, "-o", "json")
		if err := json.Unmarshal([]byte(out), &d); err != nil || code != 0 {
			t.Fatalf("describe -o json: exit %d, %v: %s", code, err, out)
		}
		if d.Schedule.Status.LastSuccessfulBackup != "" && len(d.Backups) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no successful backups: %+v", d.Schedule.Status)
		}
		time.Sleep(500 * time.Millisecond)
	}

	out, code := cairn(t, "schedule", "delete", "every", "--delete-backups", "-n", ns)
	if code != 0 || !strings.Contains(out, "Schedule every deleted") {
		t.Fatalf("delete: exit %d: %s", code, out)
	}
	var list v1alpha1.ScheduleList
	if err := c.List(t.Context(), &list, client.InNamespace(ns)); err != nil ||
		len(list.Items) > 0 {
		t.Errorf("schedules left: %v, %v", list.Items, err)
	}
}

func TestBackupCreateServer(t *testing.T) {
	ns, c := runServer(t)
	cp := controlplane.Shared(t)
	app := cp.Namespace(t)
	cp.Apply(t, controlplane.ExampleApp(t), app)

	out, code := cairn(t, "backup", "create", "app-1", "--server", "--server-namespace", ns,
		"--include-namespaces", app, "--ttl", "1h")
	if code != 0 || !strings.Contains(out, "Backup app-1 Completed") ||
		!strings.Contains(out, "in BackupLocation main") {
		t.Fatalf("create --server: exit %d: %s", code, out)
	}
	var b v1alpha1.Backup
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "app-1"}, &b); err != nil {
		t.Fatal(err)
	}
	if b.Spec.TTL == nil || b.Spec.TTL.Duration != time.Hour || b.Status.Expiration == nil {
		t.Errorf("spec %+v, status %+v: want a TTL of 1h and an expiration", b.Spec, b.Status)
	}

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"exists", []string{"app-1"}, 2, "already exists"},
		{"unknown location", []string{"app-2", "--backup-location", "nowhere"}, 1,
			"FailedValidation"},
		{"local-only flag", []string{"app-3", "--workers", "2"}, 2, "does not apply"},
		{"local with a server flag", []string{"app-3", "--server=false", "--ttl", "1h"}, 2,
			"--ttl needs --server"},
		{"no wait", []string{"app-4", "--wait=false", "-o", "json"}, 0, `"kind": "Backup"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"backup", "create", "--server", "--server-namespace", ns,
				"--include-namespaces", app}, tc.args...)
			out, code := cairn(t, args...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, tc.code, tc.want, out[:min(len(out), 600)])
			}
		})
	}
}

// TestScheduleCreateBadCron checks that a schedule or a time zone the
// server could not read is refused as bad input before anything is sent to
// the cluster.
func TestScheduleCreateBadCron(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	kubeconfig := kubeconfigFor(t, srv.URL)

	tests := []struct {
		name, cron, zone, want string
	}{
		{"minute out of range", "61 * * * *", "", "above maximum (59)"},
		{"four fields", "* * * *", "", "expected exactly 5 fields"},
		{"seconds field", "0 0 1 * * *", "", "expected exactly 5 fields"},
		{"unknown descriptor", "@sometimes", "", "unrecognized descriptor"},
		{"words", "every night", "", `--schedule "every night": expected exactly 5 fields`},
		{"time zone prefix", "CRON_TZ=Europe/Berlin 0 1 * * *", "", "with --time-zone"},
		{"unknown time zone", "0 1 * * *", "Europe/Atlantis", `--time-zone "Europe/Atlantis"`},
		{"offset for a zone", "0 1 * * *", "+02:00", `--time-zone "+02:00": not a time zone`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := cairn(t, "schedule", "create", "nightly", "--schedule", tt.cron,
				"--time-zone", tt.zone, "--kubeconfig", kubeconfig)
			if code != 2 || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, output %q; want exit 2 and %q", code, out, tt.want)
			}
		})
	}
	if n := requests.Load(); n > 0 {
		t.Fatalf("%d requests were sent for bad schedules or zones", n)
	}

	// A good schedule is sent; the server here refuses it.
	if out, code := cairn(t, "schedule", "create", "nightly", "--schedule", "0 1 * * *",
		"--time-zone", "Europe/Berlin", "--kubeconfig", kubeconfig); code != 1 || requests.Load() == 0 {
		t.Fatalf("good schedule: exit %d, %d requests: %s", code, requests.Load(), out)
	}
}

// TestServerNotInstalled checks that the commands that work through the
// cairn server's resources say so, and what to do, in a cluster that does
// not serve them.
func TestServerNotInstalled(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	kubeconfig := kubeconfigFor(t, srv.URL)
	for _, args := range [][]string{
		{"schedule", "list"},
		{"schedule", "create", "nightly", "--schedule", "0 1 * * *"},
		{"backup", "create", "b1", "--server"},
	} {
		out, code := cairn(t, append(args, "--kubeconfig", kubeconfig)...)
		if code != 1 || !strings.Contains(out, "cairn server is not installed") ||
			!strings.Contains(out, "cairn install") {
			t.Errorf("%v: exit %d: %s", args, code, out)
		}
	}
}
