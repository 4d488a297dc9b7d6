package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/repository"
)

type repoCheckOptions struct {
	repo     repoFlags
	out      outputFlag
	readData float64
}

func newRepoCheckCommand(_ *globalOptions) *cobra.Command {
	o := &repoCheckOptions{}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Verify the structure and, optionally, the data of a repository",
		Long: `Verify that every index opens, every indexed pack exists with the header the
index records, and every snapshot's chunks are indexed. --read-data reads all
packs whole, --read-data=PERCENT a random share of them, and checks each
chunk. It exits with code 1 when it finds an error, and then lists the files
of each snapshot that damaged packs make impossible to restore.`,
		Example: `  cairn repo check --repo /srv/repo
  cairn repo check --repo /srv/repo --read-data
  cairn repo check --repo /srv/repo --read-data=10 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.repo.validate(); err != nil {
				return err
			}
			if err := o.out.validate(); err != nil {
				return err
			}
			if o.readData < 0 || o.readData > 100 {
				return usageErrorf("--read-data: %v is not a percentage", o.readData)
			}
			return o.run(cmd.Context(), cmd.OutOrStdout())
		},
	}
	o.repo.bind(cmd)
	o.out.bind(cmd)
	cmd.Flags().Float64Var(&o.readData, "read-data", 0, "read this percentage of packs whole")
	cmd.Flags().Lookup("read-data").NoOptDefVal = "100"
	return cmd
}

// errCheckFailed reports that check found errors it already printed.
var errCheckFailed = errors.New("check found errors")

func (o *repoCheckOptions) run(ctx context.Context, w io.Writer) error {
	r, l, err := o.repo.open(ctx, false)
	if err != nil {
		return err
	}
	defer closeLocation(l)
	display := startProgress("check", func() string { return "working" })
	rep, err := r.Check(ctx, repository.CheckOptions{ReadDataPercent: o.readData})
	display.Stop()
	if err != nil {
		return err
	}
	if o.out.structured() {
		if err := o.out.print(w, rep); err != nil {
			return err
		}
	} else {
		o.printText(w, rep)
	}
	if !rep.OK() {
		return fmt.Errorf("%w: %d", errCheckFailed, len(rep.Errors))
	}
	return nil
}

func (o *repoCheckOptions) printText(w io.Writer, rep *repository.CheckReport) {
	fmt.Fprintf(w, "%d index objects, %d packs, %d blobs, %d snapshots, %d trees; %d packs read\n",
		rep.IndexObjects, rep.Packs, rep.Blobs, rep.Snapshots, rep.Trees, rep.PacksRead)
	if rep.WriteOnly {
		fmt.Fprintln(w, "Write-only: snapshots and chunk contents were not checked")
	}
	for _, p := range rep.Warnings {
		fmt.Fprintf(w, "warning: %s: %s\n", p.Object, p.Message)
	}
	for _, p := range rep.Errors {
		fmt.Fprintf(w, "error: %s: %s\n", p.Object, p.Message)
	}
	for _, a := range rep.Affected {
		fmt.Fprintf(w, "affected: snapshot %s: %s (in %s)\n", a.Snapshot.Short(), a.Path,
			strings.Join(a.Objects, ", "))
	}
	if rep.OK() {
		fmt.Fprintln(w, "No errors found")
	}
}
