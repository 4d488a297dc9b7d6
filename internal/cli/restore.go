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
	}
	cmd.AddCommand(
		newRestoreCreateCommand(g),
		newRestoreListCommand(g),
		newRestoreDescribeCommand(g),
		newRestoreLogsCommand(g),
	)
	return cmd
}
