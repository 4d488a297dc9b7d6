// Package benchutil holds what cairn's benchmarks share: building the cairn
// binary, running it as a child process with its peak memory measured, and
// starting the local control plane.
package benchutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cairn-backup/cairn/test/controlplane"
)

// Run is one measured run of the cairn binary.
type Run struct {
	Elapsed time.Duration
	// PeakRSS is the child's maximum resident set size in bytes, from the
	// kernel's accounting.
	PeakRSS int64
	// CPU is the child's user and system CPU time.
	CPU    time.Duration
	Stdout []byte
}

// BuildCairn builds the cairn binary into dir and returns its path.
func BuildCairn(dir string) (string, error) {
	bin := filepath.Join(dir, "cairn")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/cairn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build cairn: %w", err)
	}
	return bin, nil
}

// Cairn runs the binary with args against the cluster of kubeconfig.
func Cairn(ctx context.Context, bin, kubeconfig string, args ...string) (Run, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stderr = os.Stderr
	start := time.Now()
	out, err := cmd.Output()
	r := Run{Elapsed: time.Since(start), Stdout: out}
	if cmd.ProcessState != nil {
		r.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.PeakRSS = ru.Maxrss * 1024
		}
	}
	if err != nil {
		return r, fmt.Errorf("cairn %v: %w", args, err)
	}
	return r, nil
}

// StartControlPlane starts a control plane, logging to stderr.
func StartControlPlane(ctx context.Context) (*controlplane.ControlPlane, error) {
	return controlplane.Start(ctx, controlplane.Options{Logf: func(f string, a ...any) {
		fmt.Fprintf(os.Stderr, f+"\n", a...)
	}})
}

// MB formats bytes as megabytes.
func MB(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
