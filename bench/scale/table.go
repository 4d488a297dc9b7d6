package main

import (
	"fmt"
	"time"

	"github.com/cairn-backup/cairn/bench/internal/benchutil"
)

// table prints the benchmark's one table, a row at a time as figures come;
// cpu measures what each run costs.
type table struct{ cpu *cpuMeter }

func (table) header() {
	fmt.Printf("%-9s %-28s %-9s %-10s %-10s %-10s %-11s %-11s %s\n",
		"objects", "run", "seconds", "objects/s", "peak RSS", "archive", "vs ceiling",
		"client CPU", "server CPU")
}

// row prints one run: its time, the client's peak RSS and the archive's
// size where they apply, its ratio to its ceiling, and the CPU seconds it
// cost the client and the API server with etcd.
func (table) row(n int, what string, d time.Duration, rss, size int64, ratio float64,
	u usage) {
	cell := func(v int64) string {
		if v == 0 {
			return "-"
		}
		return benchutil.MB(v)
	}
	r := "-"
	if ratio > 0 {
		r = fmt.Sprintf("%.2fx", ratio)
	}
	fmt.Printf("%-9d %-28s %-9.2f %-10.0f %-10s %-10s %-11s %-11.2f %.2f\n",
		n, what, d.Seconds(), float64(n)/d.Seconds(), cell(rss), cell(size), r,
		u.client.Seconds(), u.server.Seconds())
}
