package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/backup"
	"github.com/cairn-backup/cairn/internal/selection"
)

type backupCreateOptions struct {
	global   *globalOptions
	location locationFlag
	out      outputFlag
	spec     archive.Spec
	filters  filterFlags
	workers  int
	keys     keyFlags
}

func newBackupCreateCommand(g *globalOptions) *cobra.Command {
	o := &backupCreateOptions{global: g, location: locationFlag{create: true}}
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Back up API objects of the cluster",
		Long: `Back up the API objects of the cluster, or part of it, at one point in time.

Every type the cluster serves is read at one resourceVersion, so the backup
is a consistent snapshot. Nodes, events, leases and similar runtime objects
are left out unless named in --include-resources (--include-events takes
events). Objects labelled cairn.dev/exclude-from-backup=true are left out.

--include-cluster-resources decides on cluster-scoped objects:
  auto   the whole cluster when every namespace is backed up with no label
         selector; otherwise only what the selected objects depend on (their
         Namespaces, bound PVs and StorageClasses, CRDs, ClusterRoles and
         ClusterRoleBindings of their ServiceAccounts, PriorityClasses,
         RuntimeClasses, IngressClasses) and those matching the selector
  true   every cluster-scoped object (matching the selector, if any)
  false  none, except the Namespace objects of the selected namespaces`,
		Example: `  # Back up the whole cluster to the default location
  cairn backup create nightly-1

  # Back up one application by namespace, to a folder
  cairn backup create shop-1 --include-namespaces shop --location /var/backups/cairn

  # Back up what carries a label, anywhere in the cluster
  cairn backup create web-1 -l app=web

  # Encrypted to a public key (see cairn key generate)
  cairn backup create shop-2 --include-namespaces shop --recipient age1...

  # Only Deployments and ConfigMaps of namespaces starting with team-
  cairn backup create teams-1 --include-namespaces 'team-*' \
      --include-resources deployments,configmaps`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context(), cmd.OutOrStdout(), args[0])
		},
	}
	f := cmd.Flags()
	o.filters.bind(f, filterHelp{verb: "back up", resourcesDefault: "all",
		clusterResources: "cluster-scoped objects to take: auto, true or false"})
	f.BoolVar(&o.spec.IncludeEvents, "include-events", false, "also back up events")
	f.IntVar(&o.workers, "workers", backup.DefaultWorkers,
		"resource types listed at once; large types are also read by up to half as many "+
			"namespaces at once")
	o.location.bind(cmd)
	o.out.bind(cmd)
	o.keys.bindRecipients(cmd)
	return cmd
}

func (o *backupCreateOptions) validate() error {
	if err := o.out.validate(); err != nil {
		return err
	}
	if err := o.filters.validate(); err != nil {
		return err
	}
	o.filters.backupSpec(&o.spec)
	if o.workers < 1 {
		return usageErrorf("--workers must be at least 1")
	}
	return nil
}

func (o *backupCreateOptions) run(ctx context.Context, w io.Writer, name string) error {
	if err := backup.ValidateName(name); err != nil {
		return usageErrorf("%v", err)
	}
	eng, err := o.global.prepare(ctx, &o.keys, &o.location)
	if err != nil {
		return err
	}
	keys, c, loc := eng.keys, eng.cluster, eng.loc
	defer func() { _ = loc.Close() }()

	prog := &backup.Progress{}
	display := startProgress("backing up "+name, func() string {
		return fmt.Sprintf("%d/%d types, %d objects, %s",
			prog.TypesDone.Load(), prog.Types.Load(), prog.Objects.Load(),
			humanBytes(prog.Bytes.Load()))
	})
	m, err := backup.Run(ctx, backup.Request{
		Name:     name,
		Spec:     o.spec,
		Cluster:  c,
		Location: loc,
		Workers:  o.workers,
		Logger:   slog.Default(),
		Progress: prog,
		Keys:     keys,
	})
	display.Stop()
	if err != nil {
		if errors.Is(err, backup.ErrExists) || errors.Is(err, selection.ErrUnknownResource) {
			return usageErrorf("%v", err)
		}
		return err
	}
	if o.out.structured() {
		if err := o.out.print(w, m); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(w, "Backup %s %s: %d objects (%d types read), %s in %s\n",
			m.Name, m.Phase, m.Totals.Objects, len(m.Types), humanBytes(m.Archive.Size), loc.URL)
		printProblems(w, m.Warnings, "Warnings")
		printProblems(w, m.Errors, "Errors")
	}
	if m.Phase != archive.PhaseCompleted {
		return fmt.Errorf("backup %s ended %s", m.Name, m.Phase)
	}
	return nil
}

// printProblems prints warnings or errors, one per line.
func printProblems(w io.Writer, ps []archive.Problem, title string) {
	if len(ps) == 0 {
		return
	}
	fmt.Fprintf(w, "%s:\n", title)
	for _, p := range ps {
		subject := p.Resource
		if p.Object != nil {
			subject = p.Object.String()
		}
		if subject == "" {
			fmt.Fprintf(w, "  %s: %s\n", p.Action, p.Reason)
			continue
		}
		fmt.Fprintf(w, "  %s %s: %s\n", p.Action, subject, p.Reason)
	}
}

// humanBytes formats a byte count for people.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// exactArgs is cobra.ExactArgs with a message that names the argument.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%s takes %s (got %d arguments); see --help",
				cmd.CommandPath(), names, len(args))
		}
		return nil
	}
}
