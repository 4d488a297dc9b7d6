// Package server runs cairn's engines inside a cluster as a controller:
// it turns Backup and Restore resources into runs of the backup and restore
// engines, fires Schedules and applies their retention, and keeps one Backup
// resource for every backup published in a BackupLocation (sync).
//
// The reconcile contract every controller here keeps: a reconcile reads the
// resource, does at most one step towards its desired state, records the
// step in the status and returns. Long work (a backup, a restore) runs in a
// goroutine the server owns, so a reconcile never blocks on it; the run
// writes its own final status. Work that a previous server process left
// InProgress ends within one reconcile: Completed when its result was
// published, Failed with a reason otherwise.
//
// Times that decide anything (schedule ticks, expiry, retention) come from
// an injected clock.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/cairn-backup/cairn/internal/cluster"
	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

// Defaults for Options.
const (
	DefaultNamespace        = "cairn-system"
	DefaultSyncPeriod       = time.Minute
	DefaultProgressInterval = 2 * time.Second
	DefaultMetricsAddr      = ":8085"
	DefaultProbeAddr        = ":8081"
	// LeaderElectionID names the Lease the server instances compete for.
	LeaderElectionID = "cairn-server"
)

// Options configure a Server.
type Options struct {
	// Config reaches the cluster. The server's own clients use it as it is;
	// the engines use a copy with EngineQPS and EngineBurst.
	Config *rest.Config
	// Namespace is where the server's resources live; it watches no other.
	Namespace string
	// EngineQPS and EngineBurst limit the requests of backups and restores.
	EngineQPS   float32
	EngineBurst int
	// MetricsAddr and ProbeAddr are the listen addresses of the metrics
	// and health endpoints; "0" turns one off.
	MetricsAddr, ProbeAddr string
	// LeaderElection makes only one of several server instances act.
	LeaderElection bool
	// LeaseDuration, RenewDeadline and RetryPeriod tune leader election;
	// zero means controller-runtime's defaults.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// SyncPeriod is how often a BackupLocation is listed when it does not
	// set its own.
	SyncPeriod time.Duration
	// ProgressInterval is how often a run's progress is written into its
	// status.
	ProgressInterval time.Duration
	// TempDir holds the files of running backups.
	TempDir string
	// Clock tells the time for schedules, expiry and retention.
	Clock clock.PassiveClock
	// Logger receives the server's logs.
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.EngineQPS == 0 {
		o.EngineQPS = cluster.DefaultQPS
	}
	if o.EngineBurst == 0 {
		o.EngineBurst = cluster.DefaultBurst
	}
	if o.SyncPeriod <= 0 {
		o.SyncPeriod = DefaultSyncPeriod
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = DefaultProgressInterval
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
}

// Scheme returns a scheme with the built-in types and the cairn.dev types.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s) // adding built-in types cannot fail
	_ = v1alpha1.AddToScheme(s)
	return s
}

// Server is a controller manager with cairn's reconcilers.
type Server struct {
	mgr  manager.Manager
	runs *runs
}

// New builds a server; Run starts it.
func New(opts Options) (*Server, error) {
	opts.defaults()
	if opts.Config == nil {
		return nil, errors.New("server: no cluster configuration")
	}
	mgr, err := ctrl.NewManager(opts.Config, managerOptions(opts))
	if err != nil {
		return nil, fmt.Errorf("build controller manager: %w", err)
	}
	engineCfg := rest.CopyConfig(opts.Config)
	engineCfg.QPS, engineCfg.Burst = opts.EngineQPS, opts.EngineBurst
	// A backup reads every type, deprecated ones too; their warnings
	// would drown the server's log.
	engineCfg.WarningHandler = rest.NoWarnings{}
	engine, err := cluster.New(engineCfg)
	if err != nil {
		return nil, err
	}

	s := &Server{mgr: mgr, runs: newRuns()}
	d := &deps{
		client:   mgr.GetClient(),
		reader:   mgr.GetAPIReader(),
		ns:       opts.Namespace,
		clock:    opts.Clock,
		log:      opts.Logger,
		events:   eventRecorder(mgr),
		metrics:  registerMetrics(metrics.Registry),
		engine:   engine,
		tempDir:  opts.TempDir,
		progress: opts.ProgressInterval,
		sync:     opts.SyncPeriod,
	}
	if err := mgr.Add(s.runs); err != nil {
		return nil, err
	}
	if err := setup(mgr, d, s.runs); err != nil {
		return nil, err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("cache", cacheSynced(mgr)); err != nil {
		return nil, err
	}
	return s, nil
}

// Run runs the server until ctx ends, or until it loses leadership.
func (s *Server) Run(ctx context.Context) error { return s.mgr.Start(ctx) }

// Client returns the server's client, for tests and the CLI.
func (s *Server) Client() client.Client { return s.mgr.GetClient() }

func managerOptions(o Options) ctrl.Options {
	mo := ctrl.Options{
		Scheme: Scheme(),
		Logger: logr.FromSlogHandler(o.Logger.Handler()),
		Cache: cache.Options{
			DefaultNamespaces: map[string]cache.Config{o.Namespace: {}},
		},
		Metrics:                       metricsserver.Options{BindAddress: o.MetricsAddr},
		HealthProbeBindAddress:        o.ProbeAddr,
		LeaderElection:                o.LeaderElection,
		LeaderElectionID:              LeaderElectionID,
		LeaderElectionNamespace:       o.Namespace,
		LeaderElectionReleaseOnCancel: true,
		// Several servers may share one process in tests; names only need
		// to be unique within a manager.
		Controller:              config.Controller{SkipNameValidation: ptr.To(true)},
		GracefulShutdownTimeout: ptr.To(30 * time.Second),
	}
	if o.LeaseDuration > 0 {
		mo.LeaseDuration = ptr.To(o.LeaseDuration)
	}
	if o.RenewDeadline > 0 {
		mo.RenewDeadline = ptr.To(o.RenewDeadline)
	}
	if o.RetryPeriod > 0 {
		mo.RetryPeriod = ptr.To(o.RetryPeriod)
	}
	if o.MetricsAddr == "" {
		mo.Metrics.BindAddress = "0"
	}
	return mo
}

// setup registers every reconciler with the manager.
func setup(mgr manager.Manager, d *deps, rs *runs) error {
	if err := (&backupReconciler{deps: d, runs: rs}).setup(mgr); err != nil {
		return err
	}
	if err := (&restoreReconciler{deps: d, runs: rs}).setup(mgr); err != nil {
		return err
	}
	if err := (&scheduleReconciler{deps: d}).setup(mgr); err != nil {
		return err
	}
	return (&locationReconciler{deps: d}).setup(mgr)
}

// deps are what every reconciler works with.
type deps struct {
	// client reads from the manager's cache and writes to the API server.
	client client.Client
	// reader reads from the API server directly, where the cache may be
	// behind or would have to hold what it need not (Secrets).
	reader   client.Reader
	ns       string
	clock    clock.PassiveClock
	log      *slog.Logger
	events   recorder.EventRecorder
	metrics  *serverMetrics
	engine   *cluster.Cluster
	tempDir  string
	progress time.Duration
	sync     time.Duration
}

func eventRecorder(mgr manager.Manager) recorder.EventRecorder {
	return mgr.GetEventRecorder("cairn-server")
}

// cacheSynced is ready once the manager's informers hold the cluster's
// state.
func cacheSynced(mgr manager.Manager) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), time.Second)
		defer cancel()
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return errors.New("caches not synced")
		}
		return nil
	}
}
