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
	failOn   bool
}

func newRepoSnapshotCommand(_ *globalOptions) *cobra.Command {
	o := &repoSnapshotOptions{}
	cmd := &cobra.Command{
		Use:   "snapshot FOLDER",
		Short: "Store a folder as a new snapshot",
		Long: `Store a folder as a new snapshot. Only new chunks are uploaded. Files whose
size, mtime, ctime and inode match the parent snapshot (by default the newest
of the same host and folder) are not read again.

An entry that cannot be read (no permission, an I/O error) is left out and
listed with the operation and the error; the snapshot is then stored as
PartiallyFailed and the command exits with code 1. With --fail-on-unreadable
such an entry fails the whole snapshot instead, and none is stored.`,
		Example: `  cairn repo snapshot /var/lib/data --repo /srv/repo
  cairn repo snapshot ./data --repo s3://bucket/repo?region=eu-west-1 --tag nightly
  cairn repo snapshot /data --repo /srv/repo --no-parent -o json
  cairn repo snapshot /data --repo /srv/repo --fail-on-unreadable`,
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
	f.BoolVar(&o.failOn, "fail-on-unreadable", false,
		"fail, storing no snapshot, when an entry cannot be read")
	return cmd
}

func (o *repoSnapshotOptions) run(ctx context.Context, w io.Writer, folder string) error {
	r, l, err := o.repo.open(ctx, true)
	if err != nil {
		return err
	}
	defer closeLocation(l)

	opts := repository.BackupOptions{Hostname: o.host, Tags: o.tags, NoParent: o.noParent,
		Workers: o.workers, Progress: &repository.Progress{}, FailOnUnreadable: o.failOn}
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
	if snap == nil {
		return err
	}
	if o.out.structured() {
		if perr := o.out.print(w, snap); perr != nil {
			return perr
		}
		return err
	}
	for _, e := range snap.Errors {
		fmt.Fprintf(w, "unreadable: %s: %s: %s\n", e.Path, e.Action, e.Reason)
	}
	s := snap.Summary
	fmt.Fprintf(w, "Snapshot %s of %s %s: %d files, %d folders, %s; %s new, %s stored in %d "+
		"packs, %s\n", snap.ID.Short(), snap.Path, snap.Status(), s.Files, s.Dirs,
		humanBytes(s.Bytes), humanBytes(s.NewBytes), humanBytes(s.StoredBytes), s.Packs,
		s.Duration.Round(1e6))
	return err
}
