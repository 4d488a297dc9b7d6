package server

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

// freeAddr returns a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

func httpGet(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s: %s", url, resp.Status, body)
	}
	return string(body), nil
}

// TestProbesAndMetrics runs `cairn server` with leader election as a
// process, waits for its probes, runs a backup and reads the metrics.
func TestProbesAndMetrics(t *testing.T) {
	e := newEnv(t)
	app := e.cp.Namespace(t)
	e.location(t, "main", e.dir, func(bl *v1alpha1.BackupLocation) { bl.Spec.Default = true })
	metrics, probes := freeAddr(t), freeAddr(t)
	e.startProcess(t, "--leader-elect", "--metrics-bind-address", metrics,
		"--health-probe-bind-address", probes)

	for _, path := range []string{"/healthz", "/readyz"} {
		eventually(t, 30*time.Second, func() error {
			_, err := httpGet("http://" + probes + path)
			return err
		})
	}
	e.backup(t, "app", v1alpha1.BackupTemplate{IncludeNamespaces: []string{app}})
	if b := e.waitBackup(t, "app", time.Minute, terminal); b.Status.Phase !=
		v1alpha1.PhaseCompleted {
		t.Fatalf("backup %s: %s", b.Status.Phase, b.Status.FailureReason)
	}

	want := []string{
		`cairn_runs_total{kind="backup",phase="Completed"} 1`,
		`cairn_run_duration_seconds_count{kind="backup"} 1`,
		`cairn_location_backups{location="main"} 1`,
		`cairn_runs_in_progress{kind="backup"} 0`,
		"leader_election_master_status",
	}
	eventually(t, 10*time.Second, func() error {
		body, err := httpGet("http://" + metrics + "/metrics")
		if err != nil {
			return err
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				return fmt.Errorf("metrics lack %s", w)
			}
		}
		return nil
	})
}
