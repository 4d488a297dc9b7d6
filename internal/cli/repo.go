package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	agelib "filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/internal/repository"
)

// passwordEnv holds the repository password when --password-file is not given.
const passwordEnv = "CAIRN_REPO_PASSWORD"

func newRepoCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "repo",
		Short: "Store folders in a deduplicating, encrypted repository",
		Long: `A repository keeps snapshots of folders, such as the data of volumes, in
object storage or a local folder. Files are cut into content-defined chunks,
stored once however often they occur, compressed and encrypted.

A repository is protected by a password, or by an age recipient: then the
password only lets writers add snapshots, and reading needs the identity.`,
		Example: `  export CAIRN_REPO_PASSWORD=...
  cairn repo init --repo /srv/repo
  cairn repo snapshot /var/lib/data --repo /srv/repo
  cairn repo list --repo /srv/repo
  cairn repo restore latest /tmp/data --repo /srv/repo`,
	}
	cmd.AddCommand(
		newRepoInitCommand(g),
		newRepoSnapshotCommand(g),
		newRepoRestoreCommand(g),
		newRepoListCommand(g),
		newRepoForgetCommand(g),
		newRepoPruneCommand(g),
		newRepoCheckCommand(g),
	)
	return cmd
}

// repoFlags are the flags that locate and open a repository.
type repoFlags struct {
	url             string
	credentialsFile string
	passwordFile    string
	recipient       string
	identityFile    string
}

func (f *repoFlags) bind(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.url, "repo", "", "the repository: a location name (cairn location list), "+
		"a folder, file:///path or a bucket URL such as s3://bucket/prefix")
	fs.StringVar(&f.credentialsFile, "credentials-file", "",
		"credentials of the object store (default: the location's, else the environment)")
	fs.StringVar(&f.passwordFile, "password-file", "",
		"file holding the password (default: $"+passwordEnv+")")
	fs.StringVar(&f.identityFile, "identity-file", "",
		"age identity file that reads a recipient-mode repository")
}

func (f *repoFlags) validate() error {
	if f.url == "" {
		return usageErrorf("--repo is required")
	}
	return nil
}

// openLocation opens the repository's location through the same layer as
// backups, so folders, S3 and the other stores, named locations and their
// credentials files all work alike. The repository writes through the
// location's bucket, which does not enforce read-only, so writing commands
// refuse a read-only location here.
func (f *repoFlags) openLocation(ctx context.Context, write, create bool) (*location.Location,
	error) {
	c, err := resolveLocationFlag("--repo", f.url)
	if err != nil {
		return nil, err
	}
	if write && c.ReadOnly {
		return nil, usageErrorf("--repo %s: the location is read-only", f.url)
	}
	if f.credentialsFile != "" {
		c.CredentialsFile = f.credentialsFile
	}
	l, err := location.OpenWith(ctx, c.URL, location.Options{
		ReadOnly: c.ReadOnly, CredentialsFile: c.CredentialsFile, MustExist: !create,
	})
	if errors.Is(err, location.ErrNotFound) {
		return nil, fmt.Errorf("open repository %s: %w (cairn repo init creates one)", f.url, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", f.url, err)
	}
	return l, nil
}

// password reads the password from --password-file or the environment.
func (f *repoFlags) password() (string, error) {
	if f.passwordFile != "" {
		b, err := os.ReadFile(f.passwordFile)
		if err != nil {
			return "", usageErrorf("--password-file: %v", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return os.Getenv(passwordEnv), nil
}

func (f *repoFlags) credentials() (repository.Credentials, error) {
	var c repository.Credentials
	var err error
	if c.Password, err = f.password(); err != nil {
		return c, err
	}
	if f.identityFile != "" {
		file, err := os.Open(f.identityFile)
		if err != nil {
			return c, usageErrorf("--identity-file: %v", err)
		}
		defer file.Close()
		if c.Identities, err = agelib.ParseIdentities(file); err != nil {
			return c, usageErrorf("--identity-file: %v", err)
		}
	}
	if c.Password == "" && len(c.Identities) == 0 {
		return c, usageErrorf("give --password-file, $%s or --identity-file", passwordEnv)
	}
	return c, nil
}

// open opens the repository; the caller closes the returned location.
// write says whether the command changes the repository.
func (f *repoFlags) open(ctx context.Context,
	write bool) (*repository.Repository, *location.Location, error) {
	c, err := f.credentials()
	if err != nil {
		return nil, nil, err
	}
	l, err := f.openLocation(ctx, write, false)
	if err != nil {
		return nil, nil, err
	}
	r, err := repository.Open(ctx, l.Bucket(), c, nil)
	if err != nil {
		_ = l.Close()
		if errors.Is(err, repository.ErrWrongKey) {
			return nil, nil, usageErrorf("%v", err)
		}
		if errors.Is(err, repository.ErrNotFound) {
			return nil, nil, fmt.Errorf("%w (cairn repo init creates a repository)", err)
		}
		return nil, nil, err
	}
	r.UseLocation(l)
	return r, l, nil
}

// closeLocation closes a location at the end of a command whose result is
// already decided.
func closeLocation(l *location.Location) { _ = l.Close() }
