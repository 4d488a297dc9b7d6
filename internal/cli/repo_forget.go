package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/repository"
)

type repoForgetOptions struct {
	repo   repoFlags
	out    outputFlag
	policy repository.Policy
	dryRun bool
}

// forgetReport is what `cairn repo forget` prints.
type forgetReport struct {
	Removed []string `json:"removed"`
	Kept    []string `json:"kept"`
	DryRun  bool     `json:"dryRun,omitempty"`
}

func newRepoForgetCommand(_ *globalOptions) *cobra.Command {
	o := &repoForgetOptions{}
	cmd := &cobra.Command{
		Use:   "forget [SNAPSHOT...]",
		Short: "Remove snapshots by id or by a retention policy",
		Long: `Remove the named snapshots, or those a retention policy does not keep. A
policy applies to the snapshots of each host and folder apart: --keep-last 7
keeps the newest seven of every folder. The data they used is freed by later
runs of cairn repo prune.`,
		Example: `  cairn repo forget 3f2a9c1e --repo /srv/repo
  cairn repo forget --keep-last 7 --keep-daily 30 --repo /srv/repo --dry-run`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.repo.validate(); err != nil {
				return err
			}
			if err := o.out.validate(); err != nil {
				return err
			}
			switch {
			case len(args) == 0 && o.policy.Empty():
				return usageErrorf("name snapshots or give a --keep-* policy")
			case len(args) > 0 && !o.policy.Empty():
				return usageErrorf("name snapshots or give a --keep-* policy, not both")
			}
			return o.run(cmd.Context(), cmd.OutOrStdout(), args)
		},
	}
	o.repo.bind(cmd)
	o.out.bind(cmd)
	f := cmd.Flags()
	f.IntVar(&o.policy.KeepLast, "keep-last", 0, "keep the newest N snapshots")
	f.IntVar(&o.policy.KeepDaily, "keep-daily", 0, "keep the newest snapshot of each of N days")
	f.DurationVar(&o.policy.KeepWithin, "keep-within", 0, "keep snapshots younger than this")
	f.BoolVar(&o.dryRun, "dry-run", false, "only say what would be removed")
	return cmd
}

func (o *repoForgetOptions) run(ctx context.Context, w io.Writer, refs []string) error {
	r, l, err := o.repo.open(ctx, !o.dryRun)
	if err != nil {
		return err
	}
	defer closeLocation(l)

	var remove, keep []*repository.Snapshot
	if len(refs) > 0 {
		for _, ref := range refs {
			s, err := r.FindSnapshot(ctx, ref)
			if err != nil {
				return err
			}
			remove = append(remove, s)
		}
	} else {
		all, err := r.Snapshots(ctx)
		if err != nil {
			return err
		}
		keep, remove = o.policy.Apply(all, time.Now())
	}

	rep := forgetReport{DryRun: o.dryRun, Removed: []string{}, Kept: []string{}}
	var ids []repository.ID
	for _, s := range remove {
		ids = append(ids, s.ID)
		rep.Removed = append(rep.Removed, s.ID.String())
	}
	for _, s := range keep {
		rep.Kept = append(rep.Kept, s.ID.String())
	}
	if !o.dryRun {
		if err := r.Forget(ctx, ids...); err != nil {
			return err
		}
	}
	if o.out.structured() {
		return o.out.print(w, rep)
	}
	verb := "Removed"
	if o.dryRun {
		verb = "Would remove"
	}
	for _, s := range remove {
		fmt.Fprintf(w, "%s snapshot %s of %s from %s\n", verb, s.ID.Short(), s.Path,
			s.Time.Local().Format(time.DateTime))
	}
	fmt.Fprintf(w, "%d removed, %d kept\n", len(remove), len(keep))
	return nil
}
