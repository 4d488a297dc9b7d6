package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/backup"
)

type backupVerifyOptions struct {
	backupRef
	keys keyFlags
}

func newBackupVerifyCommand(_ *globalOptions) *cobra.Command {
	o := &backupVerifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify NAME",
		Short: "Check a stored backup against its manifest",
		Long: `Re-read a backup's archive and check it: the stored bytes against the
manifest's size and SHA-256, the index against the manifest, and every
object against its SHA-256 in the index. Encrypted backups need their key.
Exits 0 when the backup is intact and 1 with the list of problems when not.`,
		Example: `  cairn backup verify shop-1
  cairn backup verify nightly-1 --identity-file ~/.config/cairn/backup.key -o json`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.out.validate(); err != nil {
				return err
			}
			keys, err := o.keys.load()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			loc, err := o.location.open(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = loc.Close() }()
			m, err := backup.Get(ctx, loc, args[0])
			if err != nil {
				return err
			}
			rep, err := backup.Verify(ctx, loc, m, keys)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if o.out.structured() {
				if err := o.out.print(w, rep); err != nil {
					return err
				}
			} else if rep.OK {
				fmt.Fprintf(w, "backup %s OK: %d objects, %s, sha256 %s\n",
					rep.Name, rep.Objects, humanBytes(rep.StoredSize), rep.StoredSHA256)
			} else {
				fmt.Fprintf(w, "backup %s is damaged:\n", rep.Name)
				for _, p := range rep.Problems {
					fmt.Fprintf(w, "  %s\n", p)
				}
			}
			if !rep.OK {
				return fmt.Errorf("backup %s failed verification (%d problems)", rep.Name, len(rep.Problems))
			}
			return nil
		},
	}
	o.location.bind(cmd)
	o.out.bind(cmd)
	o.keys.bindIdentities(cmd)
	return cmd
}
