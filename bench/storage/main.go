// Command storage measures cairn backup create to object storage beside a
// folder, for the same objects: it fills a namespace of the local control
// plane with ConfigMaps of random text, starts the S3 test server
// (versitygw, posix backend, on loopback), adds both as named locations in
// a throwaway client configuration, checks each with cairn location check,
// then backs the namespace up to each in turn, plain and encrypted,
// printing time, throughput and the peak resident memory of the cairn
// process. Last it restores a backup of each location and mode into new
// namespaces (--namespace-mappings), printing the same for the restores.
//
//	go run ./bench/storage
//	go run ./bench/storage -objects 50000 -size 2048 -runs 5
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cairn-backup/cairn/bench/internal/benchutil"
	"github.com/cairn-backup/cairn/internal/config"
	"github.com/cairn-backup/cairn/internal/crypt"
	"github.com/cairn-backup/cairn/test/s3server"
)

const namespace = "bench"

// bench is what every run needs.
type bench struct {
	bin, kubeconfig string
	cs              kubernetes.Interface
	recipient       string
	identityFile    string
	runs            int
	// backups names a backup of each location and mode ("s3/age"), for
	// the restores.
	backups map[string]string
}

func main() {
	objects := flag.Int("objects", 20000, "ConfigMaps to back up")
	size := flag.Int("size", 4096, "bytes of random text per ConfigMap")
	runs := flag.Int("runs", 3, "backups per location and mode")
	flag.Parse()
	if err := run(*objects, *size, *runs); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func run(objects, size, runs int) error {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "cairn-bench-storage-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }()
	// The cairn processes read this configuration, not the user's.
	if err := os.Setenv(config.PathEnv, filepath.Join(work, "config.yaml")); err != nil {
		return err
	}
	b := &bench{runs: runs, backups: map[string]string{}}
	if b.bin, err = benchutil.BuildCairn(work); err != nil {
		return err
	}
	identity, recipient, err := crypt.Generate()
	if err != nil {
		return err
	}
	b.recipient = recipient
	b.identityFile = filepath.Join(work, "identity.key")
	if err := os.WriteFile(b.identityFile, []byte(identity), 0o600); err != nil {
		return err
	}

	srv, err := startS3(ctx, work)
	if err != nil {
		return err
	}
	defer func() { _ = srv.Stop() }()
	cp, err := benchutil.StartControlPlane(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = cp.Stop() }()
	b.kubeconfig = cp.Kubeconfig
	if b.cs, err = kubernetes.NewForConfig(cp.RESTConfig()); err != nil {
		return err
	}
	start := time.Now()
	if err := fill(ctx, b.cs, objects, size); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "created %d ConfigMaps in %s\n", objects,
		time.Since(start).Round(time.Second))

	if err := b.addLocations(ctx, srv, work); err != nil {
		return err
	}
	if err := b.measureAll(ctx); err != nil {
		return err
	}
	return b.measureRestores(ctx)
}

// startS3 starts the S3 test server with one bucket and writes its
// credentials file.
func startS3(ctx context.Context, work string) (*s3server.Server, error) {
	dir := filepath.Join(work, "s3")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	srv, err := s3server.Start(ctx, dir, s3server.Options{})
	if err != nil {
		return nil, err
	}
	if err := srv.CreateBucket(ctx, "bench"); err != nil {
		_ = srv.Stop()
		return nil, err
	}
	return srv, nil
}

// addLocations names the folder "file" and the bucket "s3".
func (b *bench) addLocations(ctx context.Context, srv *s3server.Server, work string) error {
	creds := filepath.Join(work, "s3.credentials")
	if err := s3server.WriteCredentials(creds, srv.AccessKey, srv.SecretKey); err != nil {
		return err
	}
	adds := [][]string{
		{"location", "add", "file", filepath.Join(work, "backups")},
		{"location", "add", "s3", srv.URL("bench", "cairn"), "--credentials-file", creds},
	}
	for _, args := range adds {
		if _, err := benchutil.Cairn(ctx, b.bin, b.kubeconfig, args...); err != nil {
			return err
		}
	}
	return nil
}

// fill creates n ConfigMaps of size bytes of random base64 text, which
// compresses to about three quarters, so that the archive is not trivially
// small.
func fill(ctx context.Context, cs kubernetes.Interface, n, size int) error {
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	const workers = 32
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			raw := make([]byte, size*3/4)
			for i := w; i < n; i += workers {
				for j := range raw {
					raw[j] = byte(rng.Uint32())
				}
				cm := &corev1.ConfigMap{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%07d", i)},
					Data:       map[string]string{"k": base64.StdEncoding.EncodeToString(raw)},
				}
				_, err := cs.CoreV1().ConfigMaps(namespace).Create(ctx, cm, metav1.CreateOptions{})
				if err != nil {
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

// measureAll checks both locations, then alternates backups between them
// so that both see the same machine load.
func (b *bench) measureAll(ctx context.Context) error {
	for _, loc := range []string{"file", "s3"} {
		if err := b.check(ctx, loc); err != nil {
			return err
		}
	}
	fmt.Printf("\n%-9s %-10s %-4s %-9s %-11s %-12s %-11s %-10s %s\n", "location", "mode",
		"run", "seconds", "objects/s", "source MB/s", "archive", "store MB/s", "peak RSS")
	n := 0
	for _, encrypted := range []bool{false, true} {
		for i := range b.runs {
			for _, loc := range []string{"file", "s3"} {
				n++
				if err := b.measure(ctx, loc, encrypted, i+1, fmt.Sprintf("b-%d", n)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// check prints what cairn location check finds for a location.
func (b *bench) check(ctx context.Context, loc string) error {
	r, err := benchutil.Cairn(ctx, b.bin, b.kubeconfig, "location", "check", loc,
		"--size-mb", "256", "-o", "json")
	if err != nil {
		return err
	}
	var rep struct {
		URL          string
		UploadMBps   float64
		DownloadMBps float64
	}
	if err := json.Unmarshal(r.Stdout, &rep); err != nil {
		return err
	}
	fmt.Printf("location check %-4s upload %6.0f MB/s, download %6.0f MB/s  (%s, 256 MB)\n",
		loc, rep.UploadMBps, rep.DownloadMBps, rep.URL)
	return nil
}

func (b *bench) measure(ctx context.Context, loc string, encrypted bool, run int,
	name string) error {
	args := []string{"backup", "create", name, "--include-namespaces", namespace,
		"--location", loc, "-o", "json", "--log-level", "warn"}
	mode := "plain"
	if encrypted {
		args = append(args, "--recipient", b.recipient)
		mode = "age"
	}
	r, err := benchutil.Cairn(ctx, b.bin, b.kubeconfig, args...)
	if err != nil {
		return err
	}
	b.backups[loc+"/"+mode] = name
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
	fmt.Printf("%-9s %-10s %-4d %-9.2f %-11.0f %-12.1f %-11s %-10.1f %s\n", loc, mode, run,
		secs, float64(m.Totals.Objects)/secs, float64(m.Totals.Bytes)/1e6/secs,
		benchutil.MB(m.Archive.Size), float64(m.Archive.Size)/1e6/secs,
		benchutil.MB(r.PeakRSS))
	return nil
}
