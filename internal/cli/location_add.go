package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/config"
	"github.com/cairn-backup/cairn/internal/location"
)

type locationAddOptions struct {
	loc         config.Location
	makeDefault bool
	keys        keyFlags
}

func newLocationAddCommand(_ *globalOptions) *cobra.Command {
	o := &locationAddOptions{}
	cmd := &cobra.Command{
		Use:   "add NAME URL",
		Short: "Add a named location to the client configuration",
		Long: `Add a named location. URL is a folder, file:///path, or a bucket URL with
its options: s3://bucket/prefix?endpoint=...&region=...&use_path_style=true,
gs://bucket/prefix or azblob://container/prefix. A folder that does not
exist is created, unless the location is read-only; a path that is not a
folder is refused. Buckets are not contacted: run cairn location check NAME
to try a location.

Keys given here are used by every command on the location that was not
given keys of the same kind: --recipient and --recipient-file encrypt the
backups written there, --identity-file reads them. Files are kept as
absolute paths and read when used; the configuration holds no secrets.`,
		Example: `  # A folder, used when no --location is given
  cairn location add local /var/backups/cairn --default

  # An S3-compatible store with its own keys, encrypted to a public key
  cairn location add prod \
      's3://backups/cairn?endpoint=https://minio.example:9000&use_path_style=true' \
      --credentials-file ~/.config/cairn/prod.credentials --recipient age1...

  # Another cluster's backups, for restores only
  cairn location add dr gs://dr-backups/cluster-a --read-only \
      --identity-file ~/.config/cairn/backup.key`,
		Args: exactArgs(2, "NAME and URL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.loc.Name = args[0]
			o.loc.URL = args[1]
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.makeDefault, "default", false,
		"make it the default location, used when a command is given no --location")
	f.BoolVar(&o.loc.ReadOnly, "read-only", false,
		"refuse every write: for a location kept for restores, or another cluster's")
	f.StringVar(&o.loc.CredentialsFile, "credentials-file", "",
		"the store's credentials in place of the usual environment: for s3:// an AWS "+
			"shared credentials file, for gs:// a service account key")
	o.keys.bindRecipients(cmd)
	o.keys.bindIdentities(cmd)
	return cmd
}

func (o *locationAddOptions) validate() error {
	if err := config.CheckName(o.loc.Name); err != nil {
		return usageErrorf("%v", err)
	}
	u, err := location.Validate(o.loc.URL)
	if err != nil {
		return usageErrorf("%v", err)
	}
	o.loc.URL = u
	err = location.CheckFolder(u)
	if errors.Is(err, location.ErrNotFolder) {
		return usageErrorf("%v", err)
	}
	if o.loc.ReadOnly && errors.Is(err, location.ErrNotFound) {
		return usageErrorf("%v; a read-only location is only read, so its folder is "+
			"not created: check the path", err)
	}
	if o.loc.CredentialsFile != "" {
		if strings.HasPrefix(u, "file://") {
			return usageErrorf("--credentials-file: a folder takes no credentials")
		}
		if o.loc.CredentialsFile, err = existingFile(o.loc.CredentialsFile); err != nil {
			return usageErrorf("--credentials-file: %v", err)
		}
	}

	// Parse the keys now, so that a typo fails here and not at backup time.
	if _, err := o.keys.src.Load(); err != nil {
		return usageErrorf("%v", err)
	}
	o.loc.Recipients = o.keys.src.Recipients
	if o.loc.RecipientFiles, err = absPaths(o.keys.src.RecipientFiles); err != nil {
		return err
	}
	o.loc.IdentityFiles, err = absPaths(o.keys.src.IdentityFiles)
	return err
}

func (o *locationAddOptions) run(w io.Writer) error {
	c, path, err := loadConfig()
	if err != nil {
		return err
	}
	if err := c.Add(o.loc, o.makeDefault); err != nil {
		if errors.Is(err, config.ErrExists) {
			return usageErrorf("%v; remove it first with cairn location remove %s",
				err, o.loc.Name)
		}
		return usageErrorf("%v", err)
	}
	made := false
	if !o.loc.ReadOnly {
		// Made now, so that the location works as soon as it is added,
		// and the commands that read it report a folder gone since.
		if made, err = location.MakeFolder(o.loc.URL); err != nil {
			return fmt.Errorf("location %s: %w", o.loc.Name, err)
		}
	}
	if err := c.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(w, "location %s added: %s", o.loc.Name, location.Display(o.loc.URL))
	if c.DefaultLocation == o.loc.Name {
		fmt.Fprint(w, " (default)")
	}
	fmt.Fprintln(w)
	if made {
		fmt.Fprintf(w, "folder %s created\n", strings.TrimPrefix(o.loc.URL, "file://"))
	}
	fmt.Fprintf(w, "try it with: cairn location check %s\n", o.loc.Name)
	return nil
}

// existingFile returns the absolute path of a file that exists.
func existingFile(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	if st.IsDir() {
		return "", fmt.Errorf("%s is a folder", abs)
	}
	return abs, nil
}

func absPaths(ps []string) ([]string, error) {
	var out []string
	for _, p := range ps {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		out = append(out, abs)
	}
	return out, nil
}
