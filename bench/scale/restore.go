package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/dynamic"

	"github.com/cairn-backup/cairn/bench/internal/benchutil"
)

// measureRestore restores the backup into fresh namespaces, first as a dry
// run, then for real, with the same workers as the raw create.
func measureRestore(ctx context.Context, t *table, cfg config, n int, dyn dynamic.Interface,
	bin, kubeconfig, loc, backup string, createTime time.Duration) error {
	var mappings []string
	for i := range cfg.namespaces {
		mappings = append(mappings, fmt.Sprintf("scale-%02d:r%d-%02d", i, n, i))
	}
	for _, dry := range []bool{true, false} {
		if err := settle(ctx, dyn, t.cpu); err != nil {
			return err
		}
		args := []string{"restore", "create", fmt.Sprintf("%s-%t", backup, dry),
			"--from-backup", backup, "--location", loc,
			"--namespace-mappings", strings.Join(mappings, ","),
			"--workers", strconv.Itoa(cfg.workers), "--log-level", "warn", "-o", "json"}
		what := "cairn restore"
		if dry {
			args = append(args, "--dry-run")
			what = "cairn restore --dry-run"
		}
		var r benchutil.Run
		u, err := t.cpu.measure(func() (err error) {
			r, err = benchutil.Cairn(ctx, bin, kubeconfig, args...)
			return err
		})
		if err != nil {
			return err
		}
		u.client = r.CPU
		t.row(n, what, r.Elapsed, r.PeakRSS, 0, r.Elapsed.Seconds()/createTime.Seconds(), u)
	}
	return nil
}
