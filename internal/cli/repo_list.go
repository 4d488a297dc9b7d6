package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

type repoListOptions struct {
	repo repoFlags
	out  outputFlag
}

func newRepoListCommand(_ *globalOptions) *cobra.Command {
	o := &repoListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the snapshots of a repository",
		Example: `  cairn repo list --repo /srv/repo
  cairn repo list --repo /srv/repo -o json`,
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
	return cmd
}

func (o *repoListOptions) run(ctx context.Context, w io.Writer) error {
	r, l, err := o.repo.open(ctx, false)
	if err != nil {
		return err
	}
	defer closeLocation(l)
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return err
	}
	if o.out.structured() {
		return o.out.print(w, snaps)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tHOST\tPATH\tFILES\tSIZE\tTAGS")
	for _, s := range snaps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.ID.Short(),
			s.Time.Local().Format(time.DateTime), s.Hostname, s.Path, s.Summary.Files,
			humanBytes(s.Summary.Bytes), strings.Join(s.Tags, ","))
	}
	return tw.Flush()
}
