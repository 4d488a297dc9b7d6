package controlplane

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Binaries is the folder holding etcd, kube-apiserver,
// kube-controller-manager and kubectl.
type Binaries string

// Path returns the path of one binary.
func (b Binaries) Path(name string) string { return filepath.Join(string(b), name) }

// EnsureBinaries returns the folder of the pinned control-plane binaries,
// building those that are missing with hack/k8sbin.sh. The build happens once
// per machine; the folder lives outside the repository and survives between
// runs.
func EnsureBinaries(ctx context.Context) (Binaries, error) {
	script := filepath.Join(repoRoot(), "hack", "k8sbin.sh")
	cmd := exec.CommandContext(ctx, "bash", script)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build control-plane binaries with %s: %w", script, err)
	}
	dir := strings.TrimSpace(out.String())
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return "", fmt.Errorf("control-plane binary missing after build: %w", err)
		}
	}
	return Binaries(dir), nil
}

// repoRoot is the root of the cairn source tree, found from this file's path
// so that tests of any package can locate the build script.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}
