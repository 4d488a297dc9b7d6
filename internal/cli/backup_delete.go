package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/backup"
)

type backupDeleteOptions struct {
	location locationFlag
}

func newBackupDeleteCommand(_ *globalOptions) *cobra.Command {
	o := &backupDeleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete NAME...",
		Short: "Delete backups from a location",
		Long: `Delete backups from a location. Every name is tried, in order: a backup
that is not found, or that could not be deleted, is reported and the others
are still deleted. Exits 1 when any was not deleted.`,
		Example: `  cairn backup delete shop-1 shop-2`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(args); err != nil {
				return err
			}
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args)
		},
	}
	o.location.bind(cmd)
	return cmd
}

// validate refuses the whole command for one name no backup can have, so
// that a typo deletes nothing.
func (o *backupDeleteOptions) validate(names []string) error {
	for _, name := range names {
		if err := backup.ValidateName(name); err != nil {
			return usageErrorf("%v", err)
		}
	}
	return nil
}

// run deletes the backups one by one, reporting on errOut each that was
// not deleted, and fails at the end when any was not.
func (o *backupDeleteOptions) run(ctx context.Context, out, errOut io.Writer,
	names []string) error {
	loc, err := o.location.open(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = loc.Close() }()

	failed := 0
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := backup.Delete(ctx, loc, name); err != nil {
			if !errors.Is(err, backup.ErrNotFound) { // which names the backup
				err = fmt.Errorf("backup %s: %w", name, err)
			}
			fmt.Fprintf(errOut, "cairn: %v\n", err)
			failed++
			continue
		}
		fmt.Fprintf(out, "backup %s deleted\n", name)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d backups not deleted", failed, len(names))
	}
	return nil
}
