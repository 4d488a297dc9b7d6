// Package restore recreates the objects of a backup in a cluster: the same
// cluster, other namespaces of it, or another cluster.
//
// A restore first verifies the backup and reads it through once, spooling
// the selected objects to temporary files, one per tier, and noting what
// it needs to know across objects (which objects are owned by a controller
// that is itself restored, which Services have selectors). Then it writes
// the tiers in dependency order, each with a bounded number of workers:
//
//	0 CustomResourceDefinitions; then wait until Established, rediscover
//	1 Namespaces
//	2 other cluster-scoped objects (StorageClasses, PriorityClasses, RBAC...)
//	3 PersistentVolumes
//	4 PersistentVolumeClaims
//	5 ServiceAccounts, Secrets, ConfigMaps, LimitRanges, ResourceQuotas, RBAC
//	6 Services, Endpoints, EndpointSlices
//	7 workloads (Pods, ReplicaSets, Deployments, StatefulSets, DaemonSets,
//	  Jobs, CronJobs, ReplicationControllers)
//	8 every other namespaced type, custom resources included
//	9 webhook configurations and APIServices, so that no webhook judges
//	  the restore's own writes
//
// Every object is prepared before it is sent (see prepare.go for each rule)
// and its outcome is recorded: created, updated, skipped or failed, or in a
// dry run what would happen. The record, the outcomes and the log are
// stored in the location under restores/<name>/.
package restore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"filippo.io/age"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/backup"
	"github.com/cairn-backup/cairn/internal/cluster"
	"github.com/cairn-backup/cairn/internal/crypt"
	"github.com/cairn-backup/cairn/internal/location"
)

// Defaults for Request.
const (
	DefaultWorkers       = 16
	DefaultNamespaceWait = time.Minute
	DefaultCRDWait       = time.Minute
)

// Existing-resource policies.
const (
	// PolicyNone leaves objects that exist alone and reports them skipped.
	PolicyNone = "none"
	// PolicyUpdate patches existing objects to the backed-up state where
	// their fields can change.
	PolicyUpdate = "update"
)

// ErrExists is returned when a restore of the same name is recorded in the
// location.
var ErrExists = errors.New("restore already exists")

// ErrInvalid marks the errors of a request that cannot be carried out as
// given: a bad name, policy or namespace mapping.
var ErrInvalid = errors.New("invalid restore request")

// invalidError is an error of Request.validate; it reads as its cause and
// is ErrInvalid.
type invalidError struct{ err error }

func (e invalidError) Error() string        { return e.err.Error() }
func (e invalidError) Unwrap() error        { return e.err }
func (e invalidError) Is(target error) bool { return target == ErrInvalid }

// ErrBackupUnusable is returned for a backup that fails verification or
// that failed when it was taken, unless the request forces the restore.
var ErrBackupUnusable = errors.New("backup cannot be restored")

// Spec is what to restore and how. Its zero value restores everything in
// the backup, leaving existing objects alone.
type Spec struct {
	IncludeNamespaces []string `json:"includeNamespaces,omitempty"`
	ExcludeNamespaces []string `json:"excludeNamespaces,omitempty"`
	IncludeResources  []string `json:"includeResources,omitempty"`
	ExcludeResources  []string `json:"excludeResources,omitempty"`
	Selector          string   `json:"selector,omitempty"`
	OrSelectors       []string `json:"orSelectors,omitempty"`
	// IncludeClusterResources is auto, true or false. auto restores the
	// cluster-scoped objects of the backup unless namespaces are selected,
	// in which case only those the selected objects depend on.
	IncludeClusterResources string `json:"includeClusterResources"`
	// NamespaceMappings renames namespaces: source to target.
	NamespaceMappings map[string]string `json:"namespaceMappings,omitempty"`
	// StorageClassMappings renames storage classes: source to target.
	StorageClassMappings map[string]string `json:"storageClassMappings,omitempty"`
	// ExistingResourcePolicy is PolicyNone (default) or PolicyUpdate.
	ExistingResourcePolicy string `json:"existingResourcePolicy"`
	// RestoreStatus names the types whose status is written back.
	RestoreStatus []string `json:"restoreStatus,omitempty"`
	// PreserveNodePorts keeps the node ports of Services.
	PreserveNodePorts bool `json:"preserveNodePorts,omitempty"`
	// DryRun sends every write with dryRun=All: the cluster does not change.
	DryRun bool `json:"dryRun,omitempty"`
}

// Request is one restore to run.
type Request struct {
	// Name names the restore's record; it must be new in the location.
	// An empty name is chosen by Run: DefaultName, with a suffix when a
	// restore of that name is already recorded.
	Name     string
	Backup   string
	Spec     Spec
	Cluster  *cluster.Cluster
	Location *location.Location
	// Keys decrypt the backup and encrypt the restore's outcomes and log.
	Keys crypt.Keys
	// Workers is how many objects of a tier are written at once.
	Workers int
	// Force restores a backup that fails verification or is Failed.
	Force bool
	// NamespaceWait bounds the one wait for a Terminating namespace.
	NamespaceWait time.Duration
	// CRDWait bounds the wait for restored CRDs to be Established.
	CRDWait time.Duration
	TempDir string
	Logger  *slog.Logger
	// Progress, when set, is updated as the restore runs.
	Progress *Progress
	Clock    func() time.Time
}

// Progress counts a running restore's work; safe to read while it runs.
type Progress struct {
	Total, Done, Failed atomic.Int64
}

func (r *Request) defaults() {
	if r.Workers <= 0 {
		r.Workers = DefaultWorkers
	}
	if r.NamespaceWait <= 0 {
		r.NamespaceWait = DefaultNamespaceWait
	}
	if r.CRDWait <= 0 {
		r.CRDWait = DefaultCRDWait
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
	if r.Spec.ExistingResourcePolicy == "" {
		r.Spec.ExistingResourcePolicy = PolicyNone
	}
}

// DefaultName names a restore of a backup started at t. The backup's
// name is shortened when needed, so that the result, and the result with
// a suffix of up to three characters, is a valid name.
func DefaultName(backupName string, t time.Time) string {
	stamp := "-" + t.UTC().Format("20060102150405")
	limit := validation.DNS1123SubdomainMaxLength - len(stamp) - len("-99")
	if len(backupName) > limit {
		backupName = strings.TrimRight(backupName[:limit], "-.")
	}
	return backupName + stamp
}

// freeName returns the default name of a restore of the backup started
// now, with a suffix (-2, -3...) when restores in the same second took it.
func freeName(ctx context.Context, loc *location.Location, backupName string,
	now time.Time) (string, error) {
	base := DefaultName(backupName, now)
	for n := 1; n < 100; n++ {
		name := base
		if n > 1 {
			name = fmt.Sprintf("%s-%d", base, n)
		}
		taken, err := loc.Exists(ctx, RecordKey(name))
		if err != nil || !taken {
			return name, err
		}
	}
	return "", fmt.Errorf("%w: %s and 98 more of the same second; give the restore a name",
		ErrExists, base)
}

func (r *Request) validate() error {
	if errs := validation.IsDNS1123Subdomain(r.Name); len(errs) > 0 {
		return fmt.Errorf("restore name %q: %s", r.Name, errs[0])
	}
	switch r.Spec.ExistingResourcePolicy {
	case PolicyNone, PolicyUpdate:
	default:
		return fmt.Errorf("existing resource policy %q: must be %s or %s",
			r.Spec.ExistingResourcePolicy, PolicyNone, PolicyUpdate)
	}
	switch r.Spec.IncludeClusterResources {
	case archive.ClusterResourcesAuto, archive.ClusterResourcesTrue,
		archive.ClusterResourcesFalse:
	default:
		return fmt.Errorf("include cluster resources %q: must be auto, true or false",
			r.Spec.IncludeClusterResources)
	}
	targets := map[string]string{}
	for src, dst := range r.Spec.NamespaceMappings {
		if other, taken := targets[dst]; taken {
			return fmt.Errorf("namespace mappings %s:%s and %s:%s restore two namespaces "+
				"into one", other, dst, src, dst)
		}
		targets[dst] = src
		for _, ns := range []string{src, dst} {
			if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
				return fmt.Errorf("namespace mapping %s:%s: %q %s", src, dst, ns, errs[0])
			}
		}
	}
	return nil
}

// Run restores the backup. Bad input, a missing backup and a backup that
// fails verification are reported before the cluster is touched. The
// returned record is also stored in the location; its phase says whether
// every object came out as asked.
func Run(ctx context.Context, req Request) (*Record, error) {
	req.defaults()
	if err := backup.ValidateName(req.Backup); err != nil {
		return nil, invalidError{err} // before a restore name is made of it
	}
	if req.Name == "" {
		name, err := freeName(ctx, req.Location, req.Backup, req.Clock())
		if err != nil {
			return nil, err
		}
		req.Name = name
	}
	if err := req.validate(); err != nil {
		return nil, invalidError{err}
	}
	start := req.Clock().UTC().Truncate(time.Second)
	if ok, err := req.Location.Exists(ctx, RecordKey(req.Name)); err != nil {
		return nil, err
	} else if ok {
		return nil, fmt.Errorf("%w: %s in %s", ErrExists, req.Name, req.Location.URL)
	}
	m, err := backup.Get(ctx, req.Location, req.Backup)
	if err != nil {
		return nil, err
	}
	if err := checkBackup(ctx, req, m); err != nil {
		return nil, err
	}
	if _, err := req.Cluster.ServerVersion(ctx); err != nil {
		return nil, err
	}
	uid := archive.NewUID()
	if !req.Location.ReadOnly {
		if err := req.Location.Probe(ctx, keyPrefix(req.Name)+"probe-"+uid); err != nil {
			return nil, err
		}
	}
	req.Keys = recordKeys(req.Keys)
	r, err := newRun(req, m, uid, start)
	if err != nil {
		return nil, err
	}
	defer r.cleanup()
	r.log.Info("restore started", "backup", m.Name, "dryRun", req.Spec.DryRun,
		"policy", req.Spec.ExistingResourcePolicy)
	if err := r.read(ctx); err != nil {
		return nil, err
	}
	r.restore(ctx)
	return r.finish(ctx)
}

// checkBackup refuses a backup that failed or that fails verification,
// unless forced.
func checkBackup(ctx context.Context, req Request, m *archive.Manifest) error {
	if m.Phase == archive.PhaseFailed && !req.Force {
		return fmt.Errorf("%w: backup %s is Failed (use --force to restore what it holds)",
			ErrBackupUnusable, m.Name)
	}
	rep, err := backup.Verify(ctx, req.Location, m, req.Keys)
	if errors.Is(err, crypt.ErrNoKey) || errors.Is(err, crypt.ErrWrongKey) {
		return err
	}
	if err != nil && !req.Force {
		return fmt.Errorf("%w: %w", ErrBackupUnusable, err)
	}
	if rep != nil && !rep.OK && !req.Force {
		return fmt.Errorf("%w: backup %s fails verification: %s (use --force to try anyway)",
			ErrBackupUnusable, m.Name, joinProblems(rep.Problems))
	}
	return nil
}

func joinProblems(ps []string) string {
	const most = 3
	if len(ps) > most {
		return fmt.Sprintf("%s; and %d more", strings.Join(ps[:most], "; "), len(ps)-most)
	}
	return strings.Join(ps, "; ")
}

// recordKeys returns keys that encrypt the restore's outcomes and log
// whenever the backup can be read: to the recipients given, else to the
// public keys of the identities given.
func recordKeys(k crypt.Keys) crypt.Keys {
	if k.Encrypting() {
		return k
	}
	for _, id := range k.Identities {
		if x, ok := id.(*age.X25519Identity); ok {
			k.Recipients = append(k.Recipients, x.Recipient())
		}
	}
	return k
}

// run is the state of one restore while it runs.
type run struct {
	req      Request
	manifest *archive.Manifest
	log      *slog.Logger
	logFile  *os.File
	outcomes *outcomeLog
	record   *Record
	sel      *selector
	spool    *spool
	types    *typeMap
	names    *nameMap
	ns       *namespaces
	mu       sync.Mutex
	// later holds the objects whose owners are set after every tier.
	later []deferred
}

func newRun(req Request, m *archive.Manifest, uid string, start time.Time) (*run, error) {
	logFile, err := os.CreateTemp(req.TempDir, "cairn-restore-log-")
	if err != nil {
		return nil, err
	}
	out, err := newOutcomeLog(req.TempDir)
	if err != nil {
		_ = logFile.Close()
		_ = os.Remove(logFile.Name())
		return nil, err
	}
	logger := slog.New(slog.NewMultiHandler(req.Logger.Handler(),
		slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: slog.LevelDebug})))
	r := &run{
		req:      req,
		manifest: m,
		log:      logger.With("restore", req.Name),
		logFile:  logFile,
		outcomes: out,
		record: &Record{
			FormatVersion: RecordVersion,
			Name:          req.Name,
			UID:           uid,
			Backup:        m.Name,
			BackupUID:     m.UID,
			Spec:          req.Spec,
			Cluster:       req.Cluster.Host,
			StartTime:     start,
		},
		names: newNameMap(),
	}
	r.ns = newNamespaces(r)
	return r, nil
}

func (r *run) cleanup() {
	_ = r.logFile.Close()
	_ = os.Remove(r.logFile.Name())
	r.outcomes.remove()
	if r.spool != nil {
		r.spool.remove()
	}
}

func (r *run) warn(p archive.Problem) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record.Warnings = append(r.record.Warnings, p)
}

func (r *run) fail(p archive.Problem) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record.Errors = append(r.record.Errors, p)
}
