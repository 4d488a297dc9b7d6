package cli

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/server"
)

// The server's own clients (caches, status writes) need far fewer requests
// than the engines, which --qps and --burst tune.
const (
	serverClientQPS   = 50
	serverClientBurst = 100
)

type serverOptions struct {
	global *globalOptions
	opts   server.Options
}

func newServerCommand(g *globalOptions) *cobra.Command {
	o := &serverOptions{global: g}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the in-cluster controller for cairn's resources",
		Long: `Run cairn as a controller: Backup resources become backups, Restore
resources restores, Schedules fire and apply their retention, and every
BackupLocation is synced so that backups written by another cluster or by
the CLI appear as Backup resources.

The server watches one namespace (--namespace, default $POD_NAMESPACE or
cairn-system). It serves Prometheus metrics on --metrics-bind-address and
/healthz and /readyz on --health-probe-bind-address. With --leader-elect,
only one of several replicas acts at a time. --qps and --burst limit the
requests of the backups and restores it runs. See docs/server.md.

cairn install writes the manifests that run it in a cluster.`,
		Example: `  # Run against the current kubeconfig context, for development
  cairn server --namespace cairn-system

  # As the installed Deployment runs it
  cairn server --namespace=$(POD_NAMESPACE) --leader-elect \
      --metrics-bind-address=:8085 --health-probe-bind-address=:8081`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	ns := os.Getenv("POD_NAMESPACE")
	if ns == "" {
		ns = server.DefaultNamespace
	}
	f := cmd.Flags()
	f.StringVarP(&o.opts.Namespace, "namespace", "n", ns,
		"namespace of the server's resources; it watches no other")
	f.StringVar(&o.opts.MetricsAddr, "metrics-bind-address", server.DefaultMetricsAddr,
		`address of the Prometheus metrics endpoint; "0" turns it off`)
	f.StringVar(&o.opts.ProbeAddr, "health-probe-bind-address", server.DefaultProbeAddr,
		`address of /healthz and /readyz; "0" turns them off`)
	f.BoolVar(&o.opts.LeaderElection, "leader-elect", false,
		"take the Lease "+server.LeaderElectionID+" before acting, so that one replica acts")
	f.DurationVar(&o.opts.LeaseDuration, "leader-elect-lease-duration", 15*time.Second,
		"how long a leader's Lease holds without renewal")
	f.DurationVar(&o.opts.RenewDeadline, "leader-elect-renew-deadline", 10*time.Second,
		"how long the leader tries to renew before it stops acting")
	f.DurationVar(&o.opts.RetryPeriod, "leader-elect-retry-period", 2*time.Second,
		"how often candidates try to take the Lease")
	f.DurationVar(&o.opts.SyncPeriod, "sync-period", server.DefaultSyncPeriod,
		"how often a BackupLocation is listed when it sets no syncPeriod")
	f.DurationVar(&o.opts.ProgressInterval, "progress-interval", server.DefaultProgressInterval,
		"how often a running backup writes its progress into its status")
	f.StringVar(&o.opts.TempDir, "temp-dir", os.TempDir(), "folder for the files of running backups")
	return cmd
}

func (o *serverOptions) validate() error {
	if o.opts.Namespace == "" {
		return usageErrorf("--namespace must not be empty")
	}
	if o.opts.LeaderElection && o.opts.RenewDeadline >= o.opts.LeaseDuration {
		return usageErrorf("--leader-elect-renew-deadline %s must be shorter than "+
			"--leader-elect-lease-duration %s", o.opts.RenewDeadline, o.opts.LeaseDuration)
	}
	if o.opts.SyncPeriod <= 0 || o.opts.ProgressInterval <= 0 {
		return usageErrorf("--sync-period and --progress-interval must be positive")
	}
	return nil
}

// run serves until ctx ends (SIGTERM) or leadership is lost.
func (o *serverOptions) run(ctx context.Context) error {
	cfg, err := o.global.cluster.RESTConfig()
	if err != nil {
		return err
	}
	o.opts.EngineQPS, o.opts.EngineBurst = cfg.QPS, cfg.Burst
	cfg.QPS, cfg.Burst = serverClientQPS, serverClientBurst
	o.opts.Config = cfg
	o.opts.Logger = slog.Default()

	s, err := server.New(o.opts)
	if err != nil {
		return err
	}
	slog.Info("server starting", "namespace", o.opts.Namespace,
		"metrics", o.opts.MetricsAddr, "probes", o.opts.ProbeAddr,
		"leaderElection", o.opts.LeaderElection)
	return s.Run(ctx)
}
