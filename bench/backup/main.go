// Command backup measures cairn backup create on the local control plane:
// for each object count it fills a namespace with ConfigMaps of about 1 KiB,
// runs the cairn binary to back the namespace up, and prints time,
// throughput and the peak resident memory of the cairn process.
//
//	go run ./bench/backup                      # 10k and 100k objects
//	go run ./bench/backup -objects 2000,10000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cairn-backup/cairn/bench/internal/benchutil"
)

func main() {
	counts := flag.String("objects", "10000,100000", "object counts to measure, comma separated")
	size := flag.Int("size", 1024, "bytes of data per ConfigMap")
	flag.Parse()
	if err := run(*counts, *size); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func run(counts string, size int) error {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "cairn-bench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }()
	bin, err := benchutil.BuildCairn(work)
	if err != nil {
		return err
	}
	cp, err := benchutil.StartControlPlane(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = cp.Stop() }()
	cs, err := kubernetes.NewForConfig(cp.RESTConfig())
	if err != nil {
		return err
	}

	fmt.Printf("%-10s %-10s %-12s %-12s %-14s %s\n",
		"objects", "seconds", "objects/s", "peak RSS", "archive", "source bytes")
	created := 0
	ns := "bench"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	for i, field := range strings.Split(counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil {
			return fmt.Errorf("-objects: %w", err)
		}
		start := time.Now()
		if err := fill(ctx, cs, ns, created, n, size); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "created %d ConfigMaps in %s\n", n-created, time.Since(start).Round(time.Second))
		created = max(created, n)
		if err := measure(ctx, bin, cp.Kubeconfig, work, ns, fmt.Sprintf("bench-%d", i)); err != nil {
			return err
		}
	}
	return nil
}

// fill creates ConfigMaps until the namespace holds n of them.
func fill(ctx context.Context, cs kubernetes.Interface, ns string, from, n, size int) error {
	const workers = 32
	value := strings.Repeat("v", size)
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := from + w; i < n; i += workers {
				cm := &corev1.ConfigMap{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%07d", i)},
					Data:       map[string]string{"k": value},
				}
				if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			return err
		}
	}
	return nil
}

func measure(ctx context.Context, bin, kubeconfig, work, ns, name string) error {
	r, err := benchutil.Cairn(ctx, bin, kubeconfig, "backup", "create", name,
		"--include-namespaces", ns, "--location", filepath.Join(work, "backups"),
		"-o", "json", "--log-level", "warn")
	if err != nil {
		return err
	}
	var m struct {
		Totals struct {
			Objects int
			Bytes   int64
		}
		Archive struct{ Size int64 }
	}
	if err := json.Unmarshal(r.Stdout, &m); err != nil {
		return err
	}
	secs := r.Elapsed.Seconds()
	fmt.Printf("%-10d %-10.2f %-12.0f %-12s %-14s %s\n", m.Totals.Objects, secs,
		float64(m.Totals.Objects)/secs, benchutil.MB(r.PeakRSS),
		benchutil.MB(m.Archive.Size), benchutil.MB(m.Totals.Bytes))
	return nil
}
