// Command repository measures the volume-data repository on this machine:
// a first backup of a tree of mixed files, an unchanged re-backup (with the
// parent's file metadata, then reading every file again), a re-backup after
// changing 1% of the data, a restore, and a backup of a tree
// of many small files. It prints one table, with peak RSS per phase read
// from /proc/self/status after resetting it through /proc/self/clear_refs.
//
//	go run ./bench/repository                       # 2 GiB and 200k files
//	go run ./bench/repository -size 256MiB -small-files 20000
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"gocloud.dev/blob/fileblob"

	"github.com/cairn-backup/cairn/internal/repository"
)

type config struct {
	size       int64
	smallFiles int
	dir        string
	keep       bool
	cpuProfile string
	memProfile string
}

func main() {
	var c config
	var size string
	flag.StringVar(&size, "size", "2GiB", "size of the mixed tree (suffixes KiB, MiB, GiB)")
	flag.IntVar(&c.smallFiles, "small-files", 200_000, "number of files in the small-file tree")
	flag.StringVar(&c.dir, "dir", os.TempDir(), "folder for the temporary data")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary data")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured phases")
	flag.StringVar(&c.memProfile, "memprofile", "",
		"write a heap profile taken when the small-file backup's live heap peaks")
	flag.Parse()

	var err error
	if c.size, err = parseSize(size); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// result is one row of the table.
type result struct {
	phase    string
	bytes    int64
	files    int64
	elapsed  time.Duration
	peakRSS  int64
	repoSize int64
	note     string
}

func run(ctx context.Context, c config) error {
	work, err := os.MkdirTemp(c.dir, "cairn-bench-")
	if err != nil {
		return err
	}
	if !c.keep {
		defer os.RemoveAll(work)
	}
	fmt.Fprintf(os.Stderr, "data in %s; %d cores, %s\n", work, runtime.NumCPU(), runtime.Version())

	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	var rows []result
	mixed := filepath.Join(work, "mixed")
	files, err := writeMixed(mixed, c.size)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %d mixed files\n", files)

	repoDir := filepath.Join(work, "repo")
	r, err := openRepo(ctx, repoDir)
	if err != nil {
		return err
	}
	backup := func(phase, note string, noParent bool) (*repository.Snapshot, error) {
		var snap *repository.Snapshot
		res, err := measure(phase, func() error {
			var err error
			snap, err = r.Backup(ctx, mixed, repository.BackupOptions{Hostname: "bench",
				NoParent: noParent})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", phase, err)
		}
		res.bytes, res.files, res.repoSize = snap.Summary.Bytes, snap.Summary.Files, du(repoDir)
		res.note = fmt.Sprintf("%s; %s new", note, human(snap.Summary.NewBytes))
		rows = append(rows, res)
		return snap, nil
	}
	if _, err := backup("first backup", "mixed tree", false); err != nil {
		return err
	}
	if _, err := backup("re-backup, unchanged", "parent metadata cache", false); err != nil {
		return err
	}
	if _, err := backup("re-backup, unchanged, read", "no parent: reads all", true); err != nil {
		return err
	}
	changed, err := changeOnePercent(mixed, c.size)
	if err != nil {
		return err
	}
	snap, err := backup("re-backup, 1% changed", fmt.Sprintf("%d files touched", changed), false)
	if err != nil {
		return err
	}

	target := filepath.Join(work, "restored")
	res, err := measure("restore", func() error {
		_, err := r.Restore(ctx, snap, target, repository.RestoreOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	res.bytes, res.files, res.repoSize = snap.Summary.Bytes, snap.Summary.Files, du(repoDir)
	res.note = "into an empty folder"
	rows = append(rows, res)
	if err := os.RemoveAll(target); err != nil {
		return err
	}

	row, err := smallFiles(ctx, work, c.smallFiles, c.memProfile)
	if err != nil {
		return err
	}
	rows = append(rows, row)
	printTable(rows)
	return nil
}

func openRepo(ctx context.Context, dir string) (*repository.Repository, error) {
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{CreateDir: true, NoTempDir: true,
		Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		return nil, err
	}
	return repository.Init(ctx, b, repository.InitOptions{Password: "bench", WorkFactor: 12})
}

func smallFiles(ctx context.Context, work string, n int, memProfile string) (result, error) {
	dir := filepath.Join(work, "small")
	var total int64
	rng := rand.New(rand.NewPCG(7, 7))
	buf := make([]byte, 8192)
	for i := range n {
		sub := filepath.Join(dir, strconv.Itoa(i/1000))
		if i%1000 == 0 {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return result{}, err
			}
		}
		size := 512 + rng.IntN(7680)
		for j := 0; j < size; j += 8 {
			v := rng.Uint64()
			for k := 0; k < 8 && j+k < size; k++ {
				buf[j+k] = byte(v >> (8 * k))
			}
		}
		if err := os.WriteFile(filepath.Join(sub, strconv.Itoa(i)), buf[:size], 0o644); err != nil {
			return result{}, err
		}
		total += int64(size)
	}
	fmt.Fprintf(os.Stderr, "wrote %d small files\n", n)

	repoDir := filepath.Join(work, "repo-small")
	r, err := openRepo(ctx, repoDir)
	if err != nil {
		return result{}, err
	}
	var snap *repository.Snapshot
	res, err := measure(fmt.Sprintf("backup, %dk small files", n/1000), func() error {
		var heap *peakHeap
		if memProfile != "" {
			heap = watchHeap()
		}
		var err error
		snap, err = r.Backup(ctx, dir, repository.BackupOptions{})
		if heap != nil {
			if werr := heap.write(memProfile); err == nil {
				err = werr
			}
		}
		return err
	})
	if err != nil {
		return result{}, fmt.Errorf("small files: %w", err)
	}
	res.bytes, res.files, res.repoSize = total, snap.Summary.Files, du(repoDir)
	res.note = "512 B to 8 KiB each"
	return res, nil
}

// measure runs fn with the peak RSS reset and written data flushed and returns its time and peak.
func measure(phase string, fn func() error) (result, error) {
	syscall.Sync() // earlier phases' writes must not be flushed during this one
	runtime.GC()
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	fmt.Fprintf(os.Stderr, "%s...\n", phase)
	start := time.Now()
	err := fn()
	return result{phase: phase, elapsed: time.Since(start), peakRSS: peakRSS()}, err
}

func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func du(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func printTable(rows []result) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tdata\tfiles\tseconds\tMB/s\tfiles/s\tpeak RSS\trepo size\tnote\t")
	for _, r := range rows {
		s := r.elapsed.Seconds()
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f\t%.0f\t%.0f\t%s\t%s\t%s\t\n", r.phase, human(r.bytes),
			r.files, s, float64(r.bytes)/1e6/s, float64(r.files)/s, human(r.peakRSS),
			human(r.repoSize), r.note)
	}
	_ = tw.Flush()
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number with KiB, MiB or GiB", s)
	}
	return n * mult, nil
}
