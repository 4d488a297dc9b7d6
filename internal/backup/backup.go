// Package backup captures the API objects of a cluster, or part of it, into
// an archive in a backup location.
//
// Every list of a backup is read at one resourceVersion, the snapshot
// revision, with resourceVersionMatch=Exact, so the backup is the state of
// the cluster at one point in time. Two kinds of types cannot be read so:
// types served by aggregated API servers are read live, and when the
// snapshot revision is compacted while a backup runs (410 Gone), the type
// being read and every type after it are read fresh at a newer revision.
// The manifest records both per type.
//
// Objects stream from list pages into the archive; memory does not grow
// with their number. A backup is published in its location only when
// complete: its archive is written under a key unique to the run, its
// manifest last, with a write that never replaces an existing manifest.
package backup

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/cluster"
	"github.com/cairn-backup/cairn/internal/crypt"
	"github.com/cairn-backup/cairn/internal/location"
)

// ExcludeLabel marks an object that no backup takes.
const ExcludeLabel = "cairn.dev/exclude-from-backup"

// Defaults for Request.
const (
	DefaultWorkers  = 8
	DefaultPageSize = 500
)

// ErrExists is returned when a backup of the same name is in the location.
var ErrExists = errors.New("backup already exists")

// Request is one backup to take.
type Request struct {
	Name     string
	Spec     archive.Spec
	Cluster  *cluster.Cluster
	Location *location.Location
	// Workers is how many types are listed at once; up to half as many
	// namespaces of large types are listed beside them (fanout.go).
	Workers int
	// PageSize is the number of objects per list call.
	PageSize int64
	// TempDir holds the archive's index while it is written.
	TempDir string
	Logger  *slog.Logger
	// Keys encrypt the archive when they hold recipients.
	Keys crypt.Keys
	// Progress, when set, is updated as the backup runs.
	Progress *Progress
	// Clock returns the current time; tests fix it.
	Clock func() time.Time

	// afterSnapshot, when set, runs once the snapshot revision is chosen;
	// tests use it to change the cluster under a running backup.
	afterSnapshot func(rv string)
}

// Progress counts a running backup's work. Its fields are safe to read
// while the backup runs.
type Progress struct {
	Types, TypesDone, Objects, Bytes atomic.Int64
}

func (r *Request) defaults() {
	if r.Workers <= 0 {
		r.Workers = DefaultWorkers
	}
	if r.PageSize <= 0 {
		r.PageSize = DefaultPageSize
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	if r.Progress == nil {
		r.Progress = &Progress{}
	}
	if r.Clock == nil {
		r.Clock = time.Now
	}
	if r.Spec.IncludeClusterResources == "" {
		r.Spec.IncludeClusterResources = archive.ClusterResourcesAuto
	}
}

// ValidateName checks a backup name: a DNS subdomain, as Kubernetes names
// are, so that it is safe as a key in every location.
func ValidateName(name string) error {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("backup name %q: %s", name, errs[0])
	}
	return nil
}

// Run takes the backup. Bad input (name, filters, selectors, an existing
// backup, an unwritable location) is reported before anything is written.
// On error nothing is published.
func Run(ctx context.Context, req Request) (*archive.Manifest, error) {
	req.defaults()
	start := req.Clock().UTC().Truncate(time.Second)
	if err := ValidateName(req.Name); err != nil {
		return nil, err
	}
	if ok, err := req.Location.Exists(ctx, ManifestKey(req.Name)); err != nil {
		return nil, err
	} else if ok {
		return nil, fmt.Errorf("%w: %s in %s", ErrExists, req.Name, req.Location.URL)
	}
	resources, discErr := req.Cluster.Resources(ctx)
	if resources == nil && discErr != nil {
		return nil, discErr
	}
	sel, err := newSelector(req.Spec, resources)
	if err != nil {
		return nil, err
	}
	uid := archive.NewUID()
	if err := req.Location.Probe(ctx, keyPrefix(req.Name)+"probe-"+uid); err != nil {
		return nil, err
	}

	logFile, err := os.CreateTemp(req.TempDir, "cairn-backup-log-")
	if err != nil {
		return nil, err
	}
	defer func() {
		_ = logFile.Close()
		_ = os.Remove(logFile.Name())
	}()
	logger := slog.New(slog.NewMultiHandler(req.Logger.Handler(),
		slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: slog.LevelDebug})))

	b := &run{
		req:      req,
		sel:      sel,
		refs:     newRefs(),
		includes: newIncludeCheck(req.Spec.IncludeNamespaces),
		fanSlots: make(chan struct{}, max(1, req.Workers/2)),
		log:      logger.With("backup", req.Name),
		logFile:  logFile,
		manifest: &archive.Manifest{
			FormatVersion: archive.FormatVersion,
			Name:          req.Name,
			UID:           uid,
			Spec:          req.Spec,
			StartTime:     start,
		},
	}
	if discErr != nil {
		b.warn(archive.Problem{Action: "discover", Reason: discErr.Error()})
	}
	if err := b.identify(ctx); err != nil {
		return nil, err
	}
	if err := b.write(ctx, uid); err != nil {
		return nil, err
	}
	return b.manifest, nil
}

// run is the state of one backup while it runs.
type run struct {
	req  Request
	sel  *selector
	refs *refs
	log  *slog.Logger
	// includes notes the --include-namespaces entries that matched a
	// Namespace; see namespaces.go.
	includes *includeCheck

	logFile  *os.File
	mu       sync.Mutex
	manifest *archive.Manifest
	// freshRV is set once the snapshot revision was found compacted.
	freshRV atomic.Bool

	// fanSlots bounds the chains of namespaces that run at once, and
	// the selected namespaces at the snapshot revision; see fanout.go.
	fanSlots chan struct{}
	nsOnce   sync.Once
	nsNames  []string
	nsErr    error
}

// identify records the cluster's identity and picks the snapshot revision:
// the revision of a minimal list, which is the latest the server has.
func (b *run) identify(ctx context.Context) error {
	c := b.req.Cluster
	version, err := c.ServerVersion(ctx)
	if err != nil {
		return err
	}
	b.manifest.Cluster = archive.ClusterInfo{Server: hostOf(c.Host), KubernetesVersion: version}
	body, err := c.Discovery.RESTClient().Get().AbsPath("/api/v1/namespaces/kube-system").
		SetHeader("Accept", "application/json").Do(ctx).Raw()
	if err != nil {
		return fmt.Errorf("read the cluster's identity: %w", err)
	}
	var ns struct {
		Metadata struct {
			UID string `json:"uid"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(body, &ns); err != nil {
		return fmt.Errorf("read the cluster's identity: %w", err)
	}
	b.manifest.Cluster.UID = ns.Metadata.UID
	rv, err := namespaceLister(c, 1).latestRevision(ctx)
	if err != nil {
		return fmt.Errorf("read the snapshot revision: %w", err)
	}
	b.manifest.ResourceVersion = rv
	b.log.Info("snapshot revision chosen", "resourceVersion", rv)
	if b.req.afterSnapshot != nil {
		b.req.afterSnapshot(rv)
	}
	return nil
}

// write streams the archive into the location and publishes the backup.
func (b *run) write(ctx context.Context, uid string) (err error) {
	loc := b.req.Location
	key := ArchiveKey(b.req.Name, uid)
	w, err := loc.NewWriter(ctx, key)
	if err != nil {
		return err
	}
	digest := &countingHash{h: sha256.New()}
	stored := io.MultiWriter(w, digest)
	// sink receives the archive: the stored stream itself, or an
	// encrypting writer in front of it.
	var sink io.WriteCloser = nopWriteCloser{stored}
	if b.req.Keys.Encrypting() {
		if sink, err = b.req.Keys.Encrypt(stored); err != nil {
			w.Abort()
			return err
		}
	}
	aw, err := archive.NewWriter(sink, archive.WriterOptions{
		TempDir: b.req.TempDir,
		ModTime: b.manifest.StartTime,
	})
	if err != nil {
		w.Abort()
		return err
	}
	defer func() {
		if err != nil {
			aw.Abort()
			w.Abort()
		}
	}()
	if err := b.collect(ctx, aw); err != nil {
		return err
	}
	if err := b.warnUnmatchedNamespaces(ctx); err != nil {
		return err
	}
	sum, err := aw.Close()
	if err != nil {
		return err
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("finish encryption: %w", err)
	}
	if err := w.Close(); err != nil {
		return err
	}

	m := b.manifest
	m.EndTime = b.req.Clock().UTC().Truncate(time.Second)
	m.Archive = archive.ArchiveInfo{
		Key:         key,
		Size:        digest.n,
		SHA256:      hex.EncodeToString(digest.h.Sum(nil)),
		Compression: archive.CompressionZstd,
	}
	if b.req.Keys.Encrypting() {
		m.Archive.Encryption = crypt.Scheme
	} else {
		b.warnPlaintextSecrets()
	}
	b.warnVolumeData()
	m.Index = archive.IndexInfo{Objects: sum.Objects, SHA256: sum.IndexSHA256}
	m.Totals = archive.Totals{Objects: sum.Objects, Bytes: sum.Bytes}
	m.Phase = archive.PhaseCompleted
	if len(m.Errors) > 0 {
		m.Phase = archive.PhasePartiallyFailed
	}
	slices.SortFunc(m.Types, func(a, b archive.TypeInfo) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Resource, b.Resource))
	})
	b.log.Info("archive written", "phase", m.Phase, "objects", sum.Objects,
		"bytes", digest.n, "errors", len(m.Errors))
	logKey := LogKey(b.req.Name, b.manifest.UID)
	if err := b.uploadLog(ctx, logKey); err != nil {
		_ = loc.Delete(context.WithoutCancel(ctx), key)
		return err
	}
	if err := publish(ctx, loc, m); err != nil {
		cleanup := context.WithoutCancel(ctx)
		_ = loc.Delete(cleanup, key)
		_ = loc.Delete(cleanup, logKey)
		return err
	}
	return nil
}

// uploadLog stores the run's log beside its archive, for `backup logs`.
func (b *run) uploadLog(ctx context.Context, key string) error {
	data, err := os.ReadFile(b.logFile.Name())
	if err != nil {
		return fmt.Errorf("read the backup log: %w", err)
	}
	return b.req.Location.Put(ctx, key, data)
}

func (b *run) warn(p archive.Problem) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.manifest.Warnings = append(b.manifest.Warnings, p)
}

func (b *run) fail(p archive.Problem) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.manifest.Errors = append(b.manifest.Errors, p)
}

// warnPlaintextSecrets records a warning when an unencrypted backup holds
// Secrets.
func (b *run) warnPlaintextSecrets() {
	for _, t := range b.manifest.Types {
		if t.Group == "" && t.Resource == "secrets" && t.Count > 0 {
			secrets := fmt.Sprintf("%d Secrets are", t.Count)
			if t.Count == 1 {
				secrets = "1 Secret is"
			}
			reason := fmt.Sprintf("%s stored unencrypted; give a key "+
				"(--recipient or $%s) to encrypt backups", secrets, crypt.PassphraseEnv)
			b.log.Warn(reason)
			b.warn(archive.Problem{Resource: "secrets", Action: "store", Reason: reason})
		}
	}
}

// warnVolumeData records a warning when the backup holds claims: it holds
// their objects, not the data in their volumes.
func (b *run) warnVolumeData() {
	for _, t := range b.manifest.Types {
		if t.Group == "" && t.Resource == "persistentvolumeclaims" && t.Count > 0 {
			reason := fmt.Sprintf("%d PersistentVolumeClaims are backed up as objects; "+
				"the data in their volumes is not in this backup", t.Count)
			if t.Count == 1 {
				reason = "1 PersistentVolumeClaim is backed up as an object; " +
					"the data in its volume is not in this backup"
			}
			b.log.Warn(reason)
			b.warn(archive.Problem{Resource: "persistentvolumeclaims", Action: "store",
				Reason: reason})
		}
	}
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// countingHash hashes and counts what passes through it.
type countingHash struct {
	h hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

// hostOf returns the host and port of an API server URL.
func hostOf(server string) string {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return server
	}
	return u.Host
}
