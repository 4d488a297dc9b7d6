package cli

import (
	"github.com/spf13/cobra"
)

func newRestoreCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Restore backups and inspect past restores",
		Long: `A restore recreates the objects of a backup in the cluster of the current
kubeconfig: the same cluster, other namespaces, or another cluster. Each
restore leaves a record in the backup location: what it did with every
object, its warnings, errors and log.`,
		Example: `  cairn restore create --from-backup shop-1 --dry-run
  cairn restore create --from-backup shop-1
  cairn restore list
  cairn restore describe shop-1-20261204101500 --details`,
	}
	cmd.AddCommand(
		newRestoreCreateCommand(g),
		newRestoreListCommand(g),
		newRestoreDescribeCommand(g),
		newRestoreLogsCommand(g),
	)
	return cmd
}
