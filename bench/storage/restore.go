package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairn-backup/cairn/bench/internal/benchutil"
)

// namespaceGone bounds the wait for a restored namespace to be deleted.
const namespaceGone = 5 * time.Minute

// measureRestores restores one backup of each location and mode into new
// namespaces, alternating between the locations as the backups did, and
// deletes each restored namespace before the next restore, so that every
// restore writes to a cluster of the same size and no deletion runs beside
// it.
func (b *bench) measureRestores(ctx context.Context) error {
	fmt.Printf("\n%-9s %-10s %-4s %-9s %-8s %-8s %-11s %s\n", "location", "mode", "run",
		"seconds", "objects", "created", "objects/s", "peak RSS")
	n := 0
	for _, mode := range []string{"plain", "age"} {
		for i := range b.runs {
			for _, loc := range []string{"file", "s3"} {
				n++
				target := fmt.Sprintf("%s-r%d", namespace, n)
				if err := b.restore(ctx, loc, mode, i+1, fmt.Sprintf("r-%d", n),
					target); err != nil {
					return err
				}
				if err := b.deleteNamespace(ctx, target); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// restore runs cairn restore create as a separate process, mapping the
// backed-up namespace to target, and prints its time and counts.
func (b *bench) restore(ctx context.Context, loc, mode string, run int,
	name, target string) error {
	from := b.backups[loc+"/"+mode]
	args := []string{"restore", "create", name, "--from-backup", from, "--location", loc,
		"--namespace-mappings", namespace + ":" + target, "-o", "json", "--log-level", "warn"}
	if mode == "age" {
		args = append(args, "--identity-file", b.identityFile)
	}
	r, err := benchutil.Cairn(ctx, b.bin, b.kubeconfig, args...)
	if err != nil {
		return err
	}
	var rec struct {
		Phase  string
		Counts struct{ Total, Created, Failed int }
	}
	if err := json.Unmarshal(r.Stdout, &rec); err != nil {
		return fmt.Errorf("restore %s: output: %w", name, err)
	}
	if rec.Phase != "Completed" {
		return fmt.Errorf("restore %s of %s from %s ended %s (%d failed)", name, from, loc,
			rec.Phase, rec.Counts.Failed)
	}
	secs := r.Elapsed.Seconds()
	fmt.Printf("%-9s %-10s %-4d %-9.2f %-8d %-8d %-11.0f %s\n", loc, mode, run, secs,
		rec.Counts.Total, rec.Counts.Created, float64(rec.Counts.Total)/secs,
		benchutil.MB(r.PeakRSS))
	return nil
}

// deleteNamespace deletes a restored namespace and waits until it is gone.
func (b *bench) deleteNamespace(ctx context.Context, ns string) error {
	err := b.cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete namespace %s: %w", ns, err)
	}
	deadline := time.Now().Add(namespaceGone)
	for time.Now().Before(deadline) {
		_, err := b.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("namespace %s: %w", ns, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("namespace %s still present after %s", ns, namespaceGone)
}
