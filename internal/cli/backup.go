package cli

import (
	"github.com/spf13/cobra"
)

func newBackupCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Create, inspect and delete backups",
		Long: `A backup captures the API objects of a cluster, or part of it, at one point
in time, into an archive in a backup location.`,
		Example: `  cairn backup create shop-1 --include-namespaces shop
  cairn backup list
  cairn backup describe shop-1 --details
  cairn backup verify shop-1`,
	}
	cmd.AddCommand(
		newBackupCreateCommand(g),
		newBackupListCommand(g),
		newBackupDescribeCommand(g),
		newBackupLogsCommand(g),
		newBackupDeleteCommand(g),
		newBackupDownloadCommand(g),
		newBackupVerifyCommand(g),
	)
	return cmd
}
