package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/repository"
)

type repoSnapshotOptions struct {
	repo     repoFlags
	out      outputFlag
	host     string
	tags     []string
	parent   string
	noParent bool
	workers  int
}

func newRepoSnapshotCommand(_ *globalOptions) *cobra.Command {
	o := &repoSnapshotOptions{}
	cmd := &cobra.Command{
		Use:   "snapshot FOLDER",
		Short: "Store a folder as a new snapshot",
		Long: `Store a folder as a new snapshot. Only new chunks are uploaded. Files whose
size, mtime, ctime and inode match the parent snapshot (by default the newest
of the same host and folder) are not read again.`,
		Example: `  cairn repo snapshot /var/lib/data --repo /srv/repo
  cairn repo snapshot ./data --repo s3://bucket/repo?region=eu-west-1 --tag nightly
  cairn repo snapshot /data --repo /srv/repo --no-parent -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.repo.validate(); err != nil {
				return err
			}
			if err := o.out.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context(), cmd.OutOrStdout(), args[0])
		},
	}
	o.repo.bind(cmd)
	o.out.bind(cmd)
	host, _ := os.Hostname()
	f := cmd.Flags()
	f.StringVar(&o.host, "host", host, "host name recorded in the snapshot")
	f.StringSliceVar(&o.tags, "tag", nil, "tags recorded in the snapshot")
	f.StringVar(&o.parent, "parent", "", "snapshot whose file metadata spares reading unchanged files")
	f.BoolVar(&o.noParent, "no-parent", false, "read every file")
	f.IntVar(&o.workers, "workers", 2, "files read at once")
	return cmd
}

func (o *repoSnapshotOptions) run(ctx context.Context, w io.Writer, folder string) error {
	r, l, err := o.repo.open(ctx, true)
	if err != nil {
		return err
	}
	defer closeLocation(l)

	opts := repository.BackupOptions{Hostname: o.host, Tags: o.tags, NoParent: o.noParent,
		Workers: o.workers, Progress: &repository.Progress{}}
	if o.parent != "" {
		if opts.Parent, err = r.FindSnapshot(ctx, o.parent); err != nil {
			return err
		}
	}
	display := startProgress("snapshot "+folder, func() string {
		return fmt.Sprintf("%d files, %s", opts.Progress.Files.Load(),
			humanBytes(opts.Progress.Bytes.Load()))
	})
	snap, err := r.Backup(ctx, folder, opts)
	display.Stop()
	if err != nil {
		return err
	}
	if o.out.structured() {
		return o.out.print(w, snap)
	}
	s := snap.Summary
	fmt.Fprintf(w, "Snapshot %s of %s: %d files, %d folders, %s; %s new, %s stored in %d packs, %s\n",
		snap.ID.Short(), snap.Path, s.Files, s.Dirs, humanBytes(s.Bytes), humanBytes(s.NewBytes),
		humanBytes(s.StoredBytes), s.Packs, s.Duration.Round(1e6))
	return nil
}
