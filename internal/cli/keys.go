package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/crypt"
)

// keyFlags are the flags that name encryption keys. Commands that write
// take recipients; commands that read take identities. A passphrase comes
// from the environment only, never from a flag, so that it stays out of
// shell history and process listings.
type keyFlags struct {
	src crypt.Sources
}

func (k *keyFlags) bindRecipients(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&k.src.Recipients, "recipient", nil,
		"encrypt to this age public key (age1...); repeatable. A machine with only "+
			"public keys writes backups it cannot read")
	cmd.Flags().StringArrayVar(&k.src.RecipientFiles, "recipient-file", nil,
		"encrypt to the public keys in this file, one per line; repeatable. "+
			"To encrypt with a passphrase instead, set $"+crypt.PassphraseEnv)
}

func (k *keyFlags) bindIdentities(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&k.src.IdentityFiles, "identity-file", nil,
		"private key file to decrypt encrypted backups (from cairn key generate); repeatable. "+
			"Backups encrypted with a passphrase read it from $"+crypt.PassphraseEnv)
}

// load parses the keys, with the passphrase from $CAIRN_PASSPHRASE.
func (k *keyFlags) load() (crypt.Keys, error) {
	src := k.src
	pass, set := os.LookupEnv(crypt.PassphraseEnv)
	if set && pass == "" {
		// Taken as no passphrase, it would write backups in the clear.
		return crypt.Keys{}, usageErrorf("$%s is set but empty: give the passphrase, "+
			"or unset it", crypt.PassphraseEnv)
	}
	src.Passphrase = pass
	keys, err := src.Load()
	if err != nil {
		return crypt.Keys{}, usageErrorf("%v", err)
	}
	return keys, nil
}

func newKeyCommand(_ *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Manage encryption keys for backups",
		Example: `  cairn key generate -f ~/.config/cairn/key.txt   # prints the public key
  cairn backup create shop-1 --recipient age1...
  cairn restore create --from-backup shop-1 --identity-file ~/.config/cairn/key.txt`,
	}
	var file string
	gen := &cobra.Command{
		Use:   "generate",
		Short: "Generate a key pair for encrypting backups",
		Long: `Generate an age X25519 key pair. The private key goes to a new file (mode
0600); the public key is printed. Give the public key to machines that write
backups (--recipient): they can write backups they cannot read. Keep the
private key where restores run (--identity-file).`,
		Example: `  cairn key generate -f ~/.config/cairn/backup.key
  cairn backup create nightly-1 --recipient age1...
  cairn restore create --from-backup nightly-1 --identity-file ~/.config/cairn/backup.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageErrorf("--file is required: where to write the private key")
			}
			identity, recipient, err := crypt.Generate()
			if err != nil {
				return err
			}
			f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return usageErrorf("write the private key: %v", err)
			}
			if _, err := f.WriteString(identity); err != nil {
				_ = f.Close()
				_ = os.Remove(file)
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), recipient)
			fmt.Fprintf(cmd.ErrOrStderr(), "private key written to %s; the public key is above\n", file)
			return nil
		},
	}
	gen.Flags().StringVarP(&file, "file", "f", "", "file to write the private key to (must not exist)")
	cmd.AddCommand(gen)
	return cmd
}
