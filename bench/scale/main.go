// Command scale measures cairn against the API server's own limits, on the
// local control plane, in one run: for each population size it fills 50
// namespaces with ConfigMaps, Secrets, Deployments and custom resources, then
// prints, side by side, a raw paginated LIST of those objects and cairn
// backup; a raw parallel CREATE of the same objects and cairn restore into
// fresh namespaces (and a dry-run restore), each with the same workers.
//
//	go run ./bench/scale                        # 10k and 100k objects
//	go run ./bench/scale -objects 10000 -workers 16
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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/cairn-backup/cairn/bench/internal/benchutil"
	"github.com/cairn-backup/cairn/internal/cluster"
)

type config struct {
	counts     []int
	namespaces int
	workers    int
	backupOnly bool
	repeat     int
}

func main() {
	counts := flag.String("objects", "10000,100000", "population sizes, comma separated")
	namespaces := flag.Int("namespaces", 50, "namespaces the objects are spread over")
	workers := flag.Int("workers", 8, "workers for cairn and for the raw ceilings")
	backupOnly := flag.Bool("backup-only", false, "measure the lists and the backup, not restores")
	repeat := flag.Int("repeat", 1, "times to measure the list ceiling and the backup, in turn")
	flag.Parse()
	if *repeat < 1 {
		fmt.Fprintln(os.Stderr, "bench: -repeat must be at least 1")
		os.Exit(2)
	}
	cfg := config{namespaces: *namespaces, workers: *workers, backupOnly: *backupOnly,
		repeat: *repeat}
	for _, f := range strings.Split(*counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "bench: -objects: %q is not a count\n", f)
			os.Exit(2)
		}
		cfg.counts = append(cfg.counts, n)
	}
	if err := run(context.Background(), cfg); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// clientConfig is the client configuration cairn uses by default, so that
// the ceilings are measured with the same rate limits.
func clientConfig(base *rest.Config) *rest.Config {
	c := rest.CopyConfig(base)
	c.QPS, c.Burst = cluster.DefaultQPS, cluster.DefaultBurst
	return c
}

func run(ctx context.Context, cfg config) error {
	work, err := os.MkdirTemp("", "cairn-scale-")
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
	fill, err := dynamic.NewForConfig(cp.RESTConfig())
	if err != nil {
		return err
	}
	client := clientConfig(cp.RESTConfig())
	dyn, err := dynamic.NewForConfig(client)
	if err != nil {
		return err
	}
	cl, err := cluster.New(client)
	if err != nil {
		return err
	}
	if err := installCRD(ctx, fill, cl); err != nil {
		return err
	}
	if err := createNamespaces(ctx, fill, "scale", cfg.namespaces); err != nil {
		return err
	}

	meter, err := newCPUMeter(cp.PIDs())
	if err != nil {
		return err
	}
	t := &table{cpu: meter}
	t.header()
	have := 0
	for _, n := range cfg.counts {
		start := time.Now()
		if _, err := create(ctx, fill, "scale", have, n, cfg.namespaces, 32, false); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "populated %d objects in %s\n", n, time.Since(start).Round(time.Second))
		have = max(have, n)
		if err := measure(ctx, t, cfg, n, bin, cp.Kubeconfig, work, dyn, cl); err != nil {
			return err
		}
	}
	return nil
}

func installCRD(ctx context.Context, dyn dynamic.Interface, cl *cluster.Cluster) error {
	var obj unstructured.Unstructured
	if err := json.Unmarshal([]byte(crd), &obj.Object); err != nil {
		return err
	}
	gvr := gvrWidgets.GroupVersion().WithResource("customresourcedefinitions")
	gvr.Group = "apiextensions.k8s.io"
	if _, err := dyn.Resource(gvr).Create(ctx, &obj, metav1.CreateOptions{}); err != nil {
		return err
	}
	for range 100 {
		if _, err := cl.Discovery.ServerResourcesForGroupVersion("bench.example.test/v1"); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the bench CRD is not served")
}

// measure prints the rows for one population size.
func measure(ctx context.Context, t *table, cfg config, n int, bin, kubeconfig, work string,
	dyn dynamic.Interface, cl *cluster.Cluster) error {
	// The controllers make a ReplicaSet for each new Deployment; lists
	// timed while they do would share the API server with them.
	if err := settle(ctx, dyn, t.cpu); err != nil {
		return err
	}
	var latest time.Duration
	u, err := t.cpu.measure(func() (err error) {
		latest, err = rawList(ctx, cl.Discovery.RESTClient(), cfg.workers, "")
		return err
	})
	if err != nil {
		return fmt.Errorf("raw list: %w", err)
	}
	t.row(n, "raw LIST, latest", latest, 0, 0, 0, u)
	loc := filepath.Join(work, "backups")
	var name string
	for round := 1; round <= cfg.repeat; round++ {
		name = fmt.Sprintf("scale-%d-%d", n, round)
		if err := measureBackup(ctx, t, cfg, n, bin, kubeconfig, loc, name, cl); err != nil {
			return err
		}
	}
	if cfg.backupOnly {
		return nil
	}

	prefix := fmt.Sprintf("ceil%d", n)
	if err := createNamespaces(ctx, dyn, prefix, cfg.namespaces); err != nil {
		return err
	}
	if err := settle(ctx, dyn, t.cpu); err != nil {
		return err
	}
	var createTime time.Duration
	u, err = t.cpu.measure(func() (err error) {
		createTime, err = create(ctx, dyn, prefix, 0, n, cfg.namespaces, cfg.workers, true)
		return err
	})
	if err != nil {
		return fmt.Errorf("raw create: %w", err)
	}
	t.row(n, "raw CREATE (ceiling)", createTime, 0, 0, 0, u)
	if err := measureRestore(ctx, t, cfg, n, dyn, bin, kubeconfig, loc, name,
		createTime); err != nil {
		return err
	}
	// The ceiling once more, after the restores: the API server's speed
	// drifts as etcd grows and as other work shares the machine.
	prefix = fmt.Sprintf("ceilb%d", n)
	if err := createNamespaces(ctx, dyn, prefix, cfg.namespaces); err != nil {
		return err
	}
	if err := settle(ctx, dyn, t.cpu); err != nil {
		return err
	}
	var again time.Duration
	u, err = t.cpu.measure(func() (err error) {
		again, err = create(ctx, dyn, prefix, 0, n, cfg.namespaces, cfg.workers, true)
		return err
	})
	if err != nil {
		return fmt.Errorf("raw create: %w", err)
	}
	t.row(n, "raw CREATE (again)", again, 0, 0, 0, u)
	return nil
}

// measureBackup times the raw list at one revision and then a backup of the
// same objects: one pair of rows, the backup's ratio taken to the list just
// before it.
func measureBackup(ctx context.Context, t *table, cfg config, n int, bin, kubeconfig, loc,
	name string, cl *cluster.Cluster) error {
	// Each run starts on a quiet server: the API server collects the
	// garbage of a list for a while after it, and would bill it to the run
	// that comes next.
	if err := quiet(ctx, t.cpu, time.Now().Add(time.Minute)); err != nil {
		return err
	}
	rv, err := currentRevision(ctx, cl)
	if err != nil {
		return err
	}
	var listTime time.Duration
	u, err := t.cpu.measure(func() (err error) {
		listTime, err = rawList(ctx, cl.Discovery.RESTClient(), cfg.workers, rv)
		return err
	})
	if err != nil {
		return fmt.Errorf("raw list at %s: %w", rv, err)
	}
	t.row(n, "raw LIST, one rev (ceiling)", listTime, 0, 0, 0, u)
	if err := quiet(ctx, t.cpu, time.Now().Add(time.Minute)); err != nil {
		return err
	}
	var r benchutil.Run
	u, err = t.cpu.measure(func() (err error) {
		r, err = benchutil.Cairn(ctx, bin, kubeconfig, "backup", "create", name,
			"--include-namespaces", "scale-*", "--include-resources",
			"configmaps,secrets,deployments,widgets.bench.example.test",
			"--workers", strconv.Itoa(cfg.workers), "--location", loc, "-o", "json",
			"--log-level", "error")
		return err
	})
	if err != nil {
		return err
	}
	u.client = r.CPU
	var m struct {
		Totals  struct{ Objects int }
		Archive struct{ Size int64 }
	}
	if err := json.Unmarshal(r.Stdout, &m); err != nil {
		return err
	}
	t.row(m.Totals.Objects, "cairn backup", r.Elapsed, r.PeakRSS, m.Archive.Size,
		r.Elapsed.Seconds()/listTime.Seconds(), u)
	return nil
}

// currentRevision returns the latest resourceVersion, read as cairn reads
// its snapshot revision: from a list of one namespace.
func currentRevision(ctx context.Context, cl *cluster.Cluster) (string, error) {
	body, err := cl.Discovery.RESTClient().Get().AbsPath("/api/v1/namespaces").
		Param("limit", "1").SetHeader("Accept", "application/json").Do(ctx).Raw()
	if err != nil {
		return "", err
	}
	var list struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return "", err
	}
	return list.Metadata.ResourceVersion, nil
}
