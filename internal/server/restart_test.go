package server

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/backup"
	"github.com/cairn-backup/cairn/internal/cluster"
	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// cairnBinary builds cmd/cairn once per test binary.
func cairnBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cairn-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "cairn")
		out, err := exec.Command("go", "build", "-o", binPath, "../../cmd/cairn").CombinedOutput()
		if err != nil {
			binErr = err
			binPath = string(out)
		}
	})
	if binErr != nil {
		t.Fatalf("build cairn: %v: %s", binErr, binPath)
	}
	return binPath
}

// serverProcess is `cairn server` run as a child process.
type serverProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startProcess runs `cairn server` for the env's namespace; the test's
// cleanup kills it if it still runs.
func (e *env) startProcess(t *testing.T, args ...string) *serverProcess {
	t.Helper()
	args = append([]string{"server", "--kubeconfig", e.cp.Kubeconfig, "--namespace", e.ns,
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0",
		"--progress-interval", "200ms", "--sync-period", "1s", "--temp-dir", t.TempDir(),
		"--log-level", "warn"}, args...)
	cmd := exec.Command(cairnBinary(t), args...)
	cmd.Stdout, cmd.Stderr = testWriter{t}, testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProcess{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	return p
}

// kill ends the process with SIGKILL, as an OOM kill or a lost node
// would, and waits for it.
func (p *serverProcess) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// TestCase_BD23 kills the server process with SIGKILL in the middle of a
// backup and starts it again: the Backup ends Failed with the reason, its
// unpublished files are removed, and the next backup runs.
func TestCase_BD23(t *testing.T) {
	e := newEnv(t)
	app := e.cp.Namespace(t)
	e.location(t, "main", e.dir, func(bl *v1alpha1.BackupLocation) { bl.Spec.Default = true })
	p := e.startProcess(t, "--qps", "3", "--burst", "1")

	e.backup(t, "slow", v1alpha1.BackupTemplate{})
	e.waitBackup(t, "slow", 2*time.Minute, started)
	p.kill()
	var b v1alpha1.Backup
	if err := e.get(t, "slow", &b); err != nil {
		t.Fatal(err)
	}
	if b.Status.Phase != v1alpha1.PhaseInProgress {
		t.Fatalf("phase %s after the kill; the test wants a run cut short", b.Status.Phase)
	}
	restarted := time.Now()
	e.startProcess(t)

	got := e.waitBackup(t, "slow", 30*time.Second, terminal)
	t.Logf("terminal %s after the restart", time.Since(restarted))
	if got.Status.Phase != v1alpha1.PhaseFailed ||
		!strings.Contains(got.Status.FailureReason, "restarted") {
		t.Errorf("phase %s, reason %q; want Failed, restarted", got.Status.Phase,
			got.Status.FailureReason)
	}
	if left := keysUnder(t, e.dir, "slow"); len(left) > 0 {
		t.Errorf("the killed run left %v", left)
	}

	e.backup(t, "after", v1alpha1.BackupTemplate{IncludeNamespaces: []string{app}})
	if got := e.waitBackup(t, "after", time.Minute, terminal); got.Status.Phase !=
		v1alpha1.PhaseCompleted {
		t.Errorf("the next backup: %s, %s", got.Status.Phase, got.Status.FailureReason)
	}
	if got := manifests(t, e.dir); len(got) != 1 || got[0] != "after" {
		t.Errorf("location holds %v, want [after]", got)
	}
}

// TestSyncFromCLI writes a backup into a folder the way the CLI does, then
// points a BackupLocation at it: the backup appears as a Completed Backup
// resource without owners, and stays over several sync periods.
func TestSyncFromCLI(t *testing.T) {
	e := newEnv(t)
	app := e.appNamespace(t)
	cliBackup(t, e, "from-cli", app)

	e.location(t, "old", e.dir, func(bl *v1alpha1.BackupLocation) { bl.Spec.ReadOnly = true })
	e.serve(t, Options{})

	b := e.waitBackup(t, "from-cli", 30*time.Second, terminal)
	if b.Status.Phase != v1alpha1.PhaseCompleted || b.Status.Location != "old" ||
		b.Status.UID == "" || b.Annotations[v1alpha1.AnnotationSynced] != b.Status.UID {
		t.Fatalf("synced backup: annotations %v, status %+v", b.Annotations, b.Status)
	}
	if len(b.OwnerReferences) > 0 {
		t.Errorf("synced backup has owners %v", b.OwnerReferences)
	}
	if p := b.Status.Progress; p == nil || p.Objects < 2 {
		t.Errorf("progress %+v: want the namespace and the ConfigMap", p)
	}

	time.Sleep(3 * time.Second) // three sync periods
	if err := e.get(t, "from-cli", &v1alpha1.Backup{}); err != nil {
		t.Errorf("after three syncs: %v", err)
	}
	if got := manifests(t, e.dir); len(got) != 1 {
		t.Errorf("location holds %v", got)
	}
}

// cliBackup backs up a namespace into the env's folder as `cairn backup
// create` does, with no server involved.
func cliBackup(t *testing.T, e *env, name, ns string) {
	t.Helper()
	c, err := cluster.New(e.cp.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	loc, err := location.Open(t.Context(), e.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = loc.Close() }()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err = backup.Run(ctx, backup.Request{Name: name, Cluster: c, Location: loc,
		Spec: archiveSpec(v1alpha1.BackupTemplate{IncludeNamespaces: []string{ns},
			IncludeClusterResources: "auto"}),
		TempDir: t.TempDir(), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
}
