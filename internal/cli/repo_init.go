package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/repository"
)

type repoInitOptions struct {
	repo     repoFlags
	chunker  repository.ChunkerParams
	packSize int
}

func newRepoInitCommand(_ *globalOptions) *cobra.Command {
	o := &repoInitOptions{}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a repository",
		Long: `Create a repository. A password is always needed. With --recipient the
repository is write-only for password holders: snapshots are encrypted to the
age recipient, and only its identity (--identity-file) reads them back.`,
		Example: `  CAIRN_REPO_PASSWORD=secret cairn repo init --repo /srv/repo
  cairn repo init --repo file:///srv/repo --password-file pw --recipient age1...
  cairn repo init --repo /srv/repo --password-file pw --chunk-average-bits 21`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.repo.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context(), cmd.OutOrStdout())
		},
	}
	o.repo.bind(cmd)
	f := cmd.Flags()
	f.StringVar(&o.repo.recipient, "recipient", "",
		"age X25519 recipient that data is encrypted to (write-only mode)")
	f.UintVar(&o.chunker.MinSize, "chunk-min", repository.DefaultMinChunk, "smallest chunk in bytes")
	f.UintVar(&o.chunker.MaxSize, "chunk-max", repository.DefaultMaxChunk, "largest chunk in bytes")
	f.IntVar(&o.chunker.AverageBits, "chunk-average-bits", repository.DefaultAverageBits,
		"chunks end where this many hash bits are zero: mean size is about chunk-min + 2^bits")
	f.IntVar(&o.packSize, "pack-size", repository.DefaultPackSize, "target pack size in bytes")
	return cmd
}

func (o *repoInitOptions) run(ctx context.Context, w io.Writer) error {
	pw, err := o.repo.password()
	if err != nil {
		return err
	}
	if pw == "" {
		return usageErrorf("a password is required: --password-file or $%s", passwordEnv)
	}
	if o.chunker.MinSize >= o.chunker.MaxSize || o.chunker.AverageBits < 10 ||
		o.chunker.AverageBits > 30 {
		return usageErrorf("chunk sizes: need chunk-min < chunk-max and 10 <= bits <= 30")
	}
	l, err := o.repo.openLocation(ctx, true, true)
	if err != nil {
		return err
	}
	defer closeLocation(l)
	r, err := repository.Init(ctx, l.Bucket(), repository.InitOptions{
		Password: pw, Recipient: o.repo.recipient, Chunker: o.chunker, PackSize: o.packSize,
	})
	if err != nil {
		return err
	}
	cfg := r.Config()
	fmt.Fprintf(w, "Created repository %s (%s mode) at %s\n", cfg.ID.Short(), cfg.Mode, l.URL)
	return nil
}
