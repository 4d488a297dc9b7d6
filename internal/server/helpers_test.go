package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cairn-backup/cairn/internal/backup"
	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
	"github.com/cairn-backup/cairn/test/controlplane"
)

func TestMain(m *testing.M) {
	code := controlplane.RunTests(m)
	if binPath != "" && binErr == nil {
		_ = os.RemoveAll(filepath.Dir(binPath)) // built by cairnBinary
	}
	os.Exit(code)
}

var crdsOnce sync.Once

// installCRDs puts the cairn.dev CRDs into the shared control plane once.
func installCRDs(t *testing.T) {
	t.Helper()
	cp := controlplane.Shared(t)
	var err error
	crdsOnce.Do(func() {
		var crds []*unstructured.Unstructured
		crds, err = CRDs()
		if err == nil {
			err = Apply(context.Background(), cp.RESTConfig(), crds)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// env is what a server test works with: the control plane, the server's
// namespace, a client, and a folder location.
type env struct {
	cp  *controlplane.ControlPlane
	ns  string
	c   client.Client
	dir string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	installCRDs(t)
	cp := controlplane.Shared(t)
	c, err := client.New(cp.RESTConfig(), client.Options{Scheme: Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return &env{cp: cp, ns: cp.Namespace(t), c: c, dir: t.TempDir()}
}

// serve runs a server for the env's namespace until the test ends.
// appNamespace makes a namespace holding the test app, a ConfigMap named
// settings, and returns its name.
func (e *env) appNamespace(t *testing.T) string {
	t.Helper()
	app := e.cp.Namespace(t)
	e.cp.Apply(t, []byte(`apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {color: blue}
`), app)
	return app
}

func (e *env) serve(t *testing.T, opts Options) {
	t.Helper()
	e.serveWith(t, e.cp.RESTConfig(), opts)
}

// serveWith runs a server with the identity of cfg.
func (e *env) serveWith(t *testing.T, cfg *rest.Config, opts Options) {
	t.Helper()
	opts.Config = cfg
	opts.Namespace = e.ns
	if opts.MetricsAddr == "" {
		opts.MetricsAddr = "0"
	}
	if opts.ProbeAddr == "" {
		opts.ProbeAddr = "0"
	}
	if opts.SyncPeriod == 0 {
		opts.SyncPeriod = time.Second
	}
	if opts.ProgressInterval == 0 {
		opts.ProgressInterval = 200 * time.Millisecond
	}
	opts.TempDir = t.TempDir()
	opts.Logger = testLogger(t)
	s, err := New(opts)
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
}

// testLogger sends the server's logs to the test log, so that they show
// with a failure only.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

// location creates a BackupLocation for a folder.
func (e *env) location(t *testing.T, name, dir string, edit func(*v1alpha1.BackupLocation)) {
	t.Helper()
	bl := &v1alpha1.BackupLocation{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec:       v1alpha1.BackupLocationSpec{URL: dir},
	}
	if edit != nil {
		edit(bl)
	}
	if err := e.c.Create(t.Context(), bl); err != nil {
		t.Fatal(err)
	}
}

// backup creates a Backup.
func (e *env) backup(t *testing.T, name string, tmpl v1alpha1.BackupTemplate) {
	t.Helper()
	b := &v1alpha1.Backup{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec:       v1alpha1.BackupSpec{BackupTemplate: tmpl},
	}
	if err := e.c.Create(t.Context(), b); err != nil {
		t.Fatal(err)
	}
}

// get reads a resource of the env's namespace.
func (e *env) get(t *testing.T, name string, obj client.Object) error {
	t.Helper()
	return e.c.Get(t.Context(), client.ObjectKey{Namespace: e.ns, Name: name}, obj)
}

// waitBackup waits until a Backup satisfies ok and returns it.
func (e *env) waitBackup(t *testing.T, name string, timeout time.Duration,
	ok func(*v1alpha1.Backup) bool) *v1alpha1.Backup {
	t.Helper()
	var b v1alpha1.Backup
	eventually(t, timeout, func() error {
		if err := e.get(t, name, &b); err != nil {
			return err
		}
		if !ok(&b) {
			return fmt.Errorf("backup %s: phase %q, reason %q, progress %+v", name,
				b.Status.Phase, b.Status.FailureReason, b.Status.Progress)
		}
		return nil
	})
	return &b
}

func terminal(b *v1alpha1.Backup) bool { return b.Status.Phase.Terminal() }

// eventually retries fn until it returns nil or the time is up.
func eventually(t *testing.T, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// manifests lists the names of the backups published in a folder.
func manifests(t *testing.T, dir string) []string {
	t.Helper()
	loc, err := location.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = loc.Close() }()
	ms, err := backup.List(t.Context(), loc)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	return names
}

// keysUnder lists every file a backup name has in a folder location.
func keysUnder(t *testing.T, dir, name string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "backups", name))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// poke changes an annotation of an object so that its controller looks
// at it again, as it would on its own after a while; tests with a fake
// clock use it in place of waiting.
func (e *env) poke(t *testing.T, obj client.Object) {
	t.Helper()
	if err := e.get(t, obj.GetName(), obj); err != nil {
		t.Fatal(err)
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"test.cairn.dev/poke":%q}}}`,
		strconv.FormatInt(time.Now().UnixNano(), 10))
	if err := e.c.Patch(t.Context(), obj, client.RawPatch("application/merge-patch+json",
		[]byte(patch))); err != nil {
		t.Fatal(err)
	}
}
