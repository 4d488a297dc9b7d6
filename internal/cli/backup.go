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
