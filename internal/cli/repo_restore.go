package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/repository"
)

type repoRestoreOptions struct {
	repo    repoFlags
	out     outputFlag
	workers int
}

func newRepoRestoreCommand(_ *globalOptions) *cobra.Command {
	o := &repoRestoreOptions{}
	cmd := &cobra.Command{
		Use:   "restore SNAPSHOT TARGET",
		Short: "Write a snapshot's folder to an empty or new folder",
		Long: `Write a snapshot's folder to TARGET, which must be empty or missing.
SNAPSHOT is "latest" or a unique prefix of a snapshot id. Every chunk is
verified; corrupt data stops the restore with an error.`,
		Example: `  cairn repo restore latest /tmp/data --repo /srv/repo
  cairn repo restore 3f2a9c1e /var/lib/data --repo /srv/repo --identity-file key.txt`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.repo.validate(); err != nil {
				return err
			}
			if err := o.out.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context(), cmd.OutOrStdout(), args[0], args[1])
		},
	}
	o.repo.bind(cmd)
	o.out.bind(cmd)
	cmd.Flags().IntVar(&o.workers, "workers", 4, "packs read at once")
	return cmd
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
		Progress: prog})
	display.Stop()
	if err != nil {
		return err
	}
	if o.out.structured() {
		return o.out.print(w, stats)
	}
	fmt.Fprintf(w, "Restored snapshot %s to %s: %d files, %d folders, %s in %s\n",
		snap.ID.Short(), target, stats.Files, stats.Dirs, humanBytes(stats.Bytes),
		time.Since(start).Round(time.Millisecond))
	return nil
}
