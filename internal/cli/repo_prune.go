package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/repository"
)

type repoPruneOptions struct {
	repo repoFlags
	out  outputFlag
	opts repository.PruneOptions
}

func newRepoPruneCommand(_ *globalOptions) *cobra.Command {
	o := &repoPruneOptions{}
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Free the space of data no snapshot uses",
		Long: `Free the space of data no snapshot uses, safely while backups run.

Prune works in two phases. Each run first deletes the packs that an earlier
run condemned, once every backup that started before then has finished, and
keeps any of them that a newer snapshot needs; then it condemns the packs no
snapshot uses, after copying the used part of mostly unused packs. Space is
therefore freed by the run after the one that found it unused.`,
		Example: `  cairn repo prune --repo /srv/repo
  cairn repo prune --repo /srv/repo --max-unused 0.5 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.repo.validate(); err != nil {
				return err
			}
			if err := o.out.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context(), cmd.OutOrStdout())
		},
	}
	o.repo.bind(cmd)
	o.out.bind(cmd)
	f := cmd.Flags()
	f.Float64Var(&o.opts.MaxUnused, "max-unused", 0.2,
		"repack packs whose unused share is above this fraction")
	f.DurationVar(&o.opts.SessionTimeout, "session-timeout", 0,
		"how long an unfinished backup counts as running (default 24h)")
	return cmd
}

func (o *repoPruneOptions) run(ctx context.Context, w io.Writer) error {
	r, l, err := o.repo.open(ctx, true)
	if err != nil {
		return err
	}
	defer closeLocation(l)
	display := startProgress("prune", func() string { return "working" })
	rep, err := r.Prune(ctx, o.opts)
	display.Stop()
	if err != nil {
		return err
	}
	if o.out.structured() {
		return o.out.print(w, rep)
	}
	fmt.Fprintf(w, "Deleted %d packs (%s); %d kept because newer snapshots use them\n",
		rep.PacksDeleted, humanBytes(rep.BytesDeleted), rep.PacksRescued)
	fmt.Fprintf(w, "Condemned %d packs (%s), repacked %d; they go on the next prune\n",
		rep.PacksCondemned, humanBytes(rep.BytesCondemned), rep.PacksRepacked)
	if rep.TempFilesRemoved > 0 {
		fmt.Fprintf(w, "Removed %d temporary files of interrupted writes\n", rep.TempFilesRemoved)
	}
	if rep.PacksForgotten > 0 {
		fmt.Fprintf(w, "Dropped %d missing packs from the index\n", rep.PacksForgotten)
	}
	if rep.MarksWaiting > 0 {
		fmt.Fprintf(w, "%d earlier condemnations wait for running backups\n", rep.MarksWaiting)
	}
	return nil
}
