package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/repository"
)

type repoRestoreOptions struct {
	repo         repoFlags
	out          outputFlag
	workers      int
	overwrite    bool
	skipExisting bool
	include      []string
}

func newRepoRestoreCommand(_ *globalOptions) *cobra.Command {
	o := &repoRestoreOptions{}
	cmd := &cobra.Command{
		Use:   "restore SNAPSHOT TARGET",
		Short: "Write a snapshot's folder to a folder",
		Long: `Write a snapshot's folder to TARGET, creating it when missing. SNAPSHOT is
"latest" or a unique prefix of a snapshot id. Every chunk is verified.

Entries already in TARGET that match the snapshot (same type; for files the
same size and mtime; for symlinks the same target) are kept and given the
snapshot's metadata, so restoring twice changes nothing. Other existing
entries are left as they are and reported as failed, unless --overwrite
replaces them or --skip-existing leaves every existing entry alone and lists
it. Entries of TARGET that the snapshot lacks are never touched.

An entry that cannot be restored, such as a file whose data is missing or
corrupt in the repository, is reported and the rest are restored; such a
file is removed rather than left short or filled with zeros. The command
then exits with code 1.`,
		Example: `  cairn repo restore latest /tmp/data --repo /srv/repo
  cairn repo restore 3f2a9c1e /var/lib/data --repo /srv/repo --overwrite
  cairn repo restore latest /var/lib/data --repo /srv/repo --skip-existing -o json
  cairn repo restore latest /tmp/one --repo /srv/repo --include sub/file.db
  cairn repo restore 3f2a9c1e /var/lib/data --repo /srv/repo --identity-file key.txt`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.repo.validate(); err != nil {
				return err
			}
			if err := o.out.validate(); err != nil {
				return err
			}
			if o.overwrite && o.skipExisting {
				return usageErrorf("--overwrite and --skip-existing exclude each other")
			}
			return o.run(cmd.Context(), cmd.OutOrStdout(), args[0], args[1])
		},
	}
	o.repo.bind(cmd)
	o.out.bind(cmd)
	f := cmd.Flags()
	f.IntVar(&o.workers, "workers", 4, "packs read at once")
	f.BoolVar(&o.overwrite, "overwrite", false,
		"replace existing entries that differ from the snapshot")
	f.BoolVar(&o.skipExisting, "skip-existing", false,
		"leave every existing entry as it is and list it as skipped")
	f.StringSliceVar(&o.include, "include", nil,
		"restore only these paths of the snapshot, relative to its folder (repeatable)")
	return cmd
}

func (o *repoRestoreOptions) policy() repository.ExistingPolicy {
	switch {
	case o.overwrite:
		return repository.Overwrite
	case o.skipExisting:
		return repository.SkipExisting
	}
	return repository.KeepMatching
}

func (o *repoRestoreOptions) run(ctx context.Context, w io.Writer, ref, target string) error {
	r, l, err := o.repo.open(ctx, false)
	if err != nil {
		return err
	}
	defer closeLocation(l)
	snap, err := r.FindSnapshot(ctx, ref)
	if err != nil {
		return err
	}

	prog := &repository.Progress{}
	display := startProgress("restore "+snap.ID.Short(), func() string {
		return fmt.Sprintf("%s of %s", humanBytes(prog.Bytes.Load()), humanBytes(snap.Summary.Bytes))
	})
	start := time.Now()
	stats, err := r.Restore(ctx, snap, target, repository.RestoreOptions{Workers: o.workers,
		Progress: prog, Existing: o.policy(), Paths: o.include})
	display.Stop()
	if stats == nil {
		return err
	}
	if o.out.structured() {
		if perr := o.out.print(w, stats); perr != nil {
			return perr
		}
		return err
	}
	for _, it := range stats.Items {
		fmt.Fprintf(w, "%s: %s: %s\n", it.Result, it.Path, it.Reason)
	}
	fmt.Fprintf(w, "Restored snapshot %s to %s: %d files, %d folders, %s; %d unchanged, "+
		"%d skipped, %d failed in %s\n", snap.ID.Short(), target, stats.Files, stats.Dirs,
		humanBytes(stats.Bytes), stats.Unchanged, stats.Skipped, stats.Failed,
		time.Since(start).Round(time.Millisecond))
	if errors.Is(err, repository.ErrIncomplete) {
		return fmt.Errorf("restore %s: %w: %d entries", snap.ID.Short(), errRestoreIncomplete,
			stats.Failed)
	}
	return err
}

// errRestoreIncomplete reports failed entries that were already printed.
var errRestoreIncomplete = errors.New("some entries were not restored")
