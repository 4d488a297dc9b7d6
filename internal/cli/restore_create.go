package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/restore"
	"github.com/cairn-backup/cairn/internal/selection"
)

type restoreCreateOptions struct {
	global    *globalOptions
	location  locationFlag
	out       outputFlag
	keys      keyFlags
	spec      restore.Spec
	filters   filterFlags
	from      string
	nsMaps    []string
	classMaps []string
	workers   int
	force     bool
	nsWait    time.Duration
	showAll   bool
}

func newRestoreCreateCommand(g *globalOptions) *cobra.Command {
	o := &restoreCreateOptions{global: g}
	cmd := &cobra.Command{
		Use:   "create [NAME] --from-backup BACKUP",
		Short: "Restore a backup into the cluster",
		Long: `Restore the objects of a backup into the cluster of the current kubeconfig.

The backup is verified first; a backup that fails verification is refused
before the cluster is touched, unless --force. Objects are written in
dependency order (CRDs, Namespaces, cluster-scoped objects, volumes and
claims, configuration and RBAC, Services, workloads, the rest), several at
a time. Objects whose controller is restored too (Pods of a ReplicaSet,
ReplicaSets of a Deployment, Jobs of a CronJob) are left to that
controller.

An object that exists already is left alone and reported as skipped, with
the fields in which it differs from the backup; --existing-resource-policy
update instead patches the fields that differ back to their backed-up values,
where they can change. Fields added since the backup are kept.

--dry-run sends every write with the server-side dry run: admission and
validation judge each object, and nothing changes. It prints what would
happen to every object.

NAME defaults to BACKUP-<time>, with a suffix when that name is taken. The record of the restore is kept in the
location; see cairn restore describe.`,
		Example: `  # Restore a backup into the cluster it came from
  cairn restore create --from-backup shop-1

  # See first what would happen
  cairn restore create --from-backup shop-1 --dry-run

  # Restore into a new namespace beside the original
  cairn restore create shop-copy --from-backup shop-1 --namespace-mappings shop:shop-copy

  # Bring changed objects back to the backed-up state
  cairn restore create --from-backup shop-1 --existing-resource-policy update

  # Only ConfigMaps and Secrets of one namespace, from an encrypted backup
  cairn restore create --from-backup nightly-1 --include-namespaces shop \
      --include-resources configmaps,secrets --identity-file ~/.config/cairn/key.txt`,
		Args: optionalArg("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			name := "" // the engine picks one that is free
			if len(args) == 1 {
				name = args[0]
			}
			return o.run(cmd.Context(), cmd.OutOrStdout(), name)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.from, "from-backup", "", "the backup to restore (required)")
	o.filters.bind(f, filterHelp{verb: "restore", namespacesOf: "of the backup ",
		resourcesDefault: "all but events",
		clusterResources: "cluster-scoped objects to restore: auto (all of the backup's, or " +
			"with a namespace filter those the namespaces need), true or false"})
	f.StringSliceVar(&o.nsMaps, "namespace-mappings", nil,
		"restore namespaces under other names: src:dst,...")
	f.StringSliceVar(&o.classMaps, "storage-class-mappings", nil,
		"restore volumes with other storage classes: src:dst,...")
	f.StringVar(&o.spec.ExistingResourcePolicy, "existing-resource-policy", restore.PolicyNone,
		"what to do with objects that exist: none (leave them, report them skipped) or "+
			"update (patch the fields that differ back to their backed-up values)")
	f.StringSliceVar(&o.spec.RestoreStatus, "restore-status", nil,
		"resource types whose status is written back")
	f.BoolVar(&o.spec.PreserveNodePorts, "preserve-node-ports", false,
		"keep the node ports of Services (default: the cluster assigns new ones)")
	f.BoolVar(&o.spec.DryRun, "dry-run", false,
		"judge every write on the server and change nothing; print the plan")
	f.IntVar(&o.workers, "workers", restore.DefaultWorkers, "objects written at once")
	f.BoolVar(&o.force, "force", false, "restore a backup that failed or fails verification")
	f.DurationVar(&o.nsWait, "namespace-wait", restore.DefaultNamespaceWait,
		"how long to wait, once, for a terminating namespace")
	f.BoolVar(&o.showAll, "details", false, "print every object's outcome, not only the counts")
	o.location.bind(cmd)
	o.out.bind(cmd)
	o.keys.bindIdentities(cmd)
	return cmd
}

func (o *restoreCreateOptions) validate() error {
	if err := o.out.validate(); err != nil {
		return err
	}
	if o.from == "" {
		return usageErrorf("--from-backup is required")
	}
	var err error
	if o.spec.NamespaceMappings, err = parseMappings("--namespace-mappings", o.nsMaps); err != nil {
		return err
	}
	if o.spec.StorageClassMappings, err = parseMappings("--storage-class-mappings",
		o.classMaps); err != nil {
		return err
	}
	switch o.spec.ExistingResourcePolicy {
	case restore.PolicyNone, restore.PolicyUpdate:
	default:
		return usageErrorf("--existing-resource-policy %q: must be none or update",
			o.spec.ExistingResourcePolicy)
	}
	if err := o.filters.validate(); err != nil {
		return err
	}
	o.filters.restoreSpec(&o.spec)
	if o.workers < 1 {
		return usageErrorf("--workers must be at least 1")
	}
	if o.nsWait <= 0 {
		return usageErrorf("--namespace-wait must be positive")
	}
	return nil
}

// parseMappings reads src:dst pairs.
func parseMappings(flag string, pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, p := range pairs {
		src, dst, ok := strings.Cut(p, ":")
		if !ok || src == "" || dst == "" || strings.Contains(dst, ":") {
			return nil, usageErrorf("%s %q: want src:dst", flag, p)
		}
		if _, dup := out[src]; dup {
			return nil, usageErrorf("%s: %q is mapped twice", flag, src)
		}
		out[src] = dst
	}
	return out, nil
}

func (o *restoreCreateOptions) run(ctx context.Context, w io.Writer, name string) error {
	eng, err := o.global.prepare(ctx, &o.keys, &o.location)
	if err != nil {
		return err
	}
	keys, c, loc := eng.keys, eng.cluster, eng.loc
	defer func() { _ = loc.Close() }()

	prog := &restore.Progress{}
	what := "restoring " + o.from
	if o.spec.DryRun {
		what = "dry run of restoring " + o.from
	}
	display := startProgress(what, func() string {
		return fmt.Sprintf("%d/%d objects, %d failed",
			prog.Done.Load(), prog.Total.Load(), prog.Failed.Load())
	})
	rec, err := restore.Run(ctx, restore.Request{
		Name:          name,
		Backup:        o.from,
		Spec:          o.spec,
		Cluster:       c,
		Location:      loc,
		Keys:          keys,
		Workers:       o.workers,
		Force:         o.force,
		NamespaceWait: o.nsWait,
		Logger:        slog.Default(),
		Progress:      prog,
	})
	display.Stop()
	if err != nil {
		if rec == nil && isUsage(err) {
			return usageErrorf("%v", err)
		}
		return err
	}
	src := outcomeSource{loc: loc, rec: rec, keys: keys}
	if o.out.structured() {
		if err := src.print(ctx, w, o.out, true); err != nil {
			return err
		}
	} else {
		if o.showAll || o.spec.DryRun {
			if err := src.table(ctx, w); err != nil {
				return err
			}
		}
		fmt.Fprintf(w, "Restore %s %s: %s\n", rec.Name, rec.Phase, countsLine(rec))
		printProblems(w, rec.Warnings, "Warnings")
		printProblems(w, rec.Errors, "Errors")
	}
	// Scripts reading -o json learn the outcome from the exit code too.
	if rec.Phase != restore.PhaseCompleted {
		return fmt.Errorf("restore %s ended %s", rec.Name, rec.Phase)
	}
	return nil
}

func isUsage(err error) bool {
	return errors.Is(err, restore.ErrExists) || errors.Is(err, restore.ErrInvalid) ||
		errors.Is(err, selection.ErrUnknownResource)
}

// optionalArg accepts one optional positional argument.
func optionalArg(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > 1 {
			return usageErrorf("%s takes at most %s (got %d arguments); see --help",
				cmd.CommandPath(), name, len(args))
		}
		return nil
	}
}
