package cli

import (
	"github.com/spf13/cobra"
)

func newLocationCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "location",
		Short: "Name the places backups are kept",
		Long: `A location is where backups are kept: a folder, or a bucket of S3, Google
Cloud Storage or Azure Blob Storage. Named locations are kept in the client
configuration file ($CAIRN_CONFIG, else $XDG_CONFIG_HOME/cairn/config.yaml,
else ~/.config/cairn/config.yaml) with their options: read-only, a
credentials file, and the keys that encrypt and read their backups. Every
command that takes --location takes a name as well as a URL; with no
--location, commands use the default location.

The configuration holds no secrets: it names the credentials file and the
private key files, and lists only public keys.`,
		Example: `  cairn location add prod 's3://backups/cairn?region=eu-west-1' --default \
      --credentials-file ~/.config/cairn/prod.credentials --recipient age1...
  cairn location list
  cairn location check prod
  cairn backup create nightly-1 --location prod`,
	}
	cmd.AddCommand(
		newLocationAddCommand(g),
		newLocationListCommand(g),
		newLocationRemoveCommand(g),
		newLocationCheckCommand(g),
	)
	return cmd
}
