package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	agelib "filippo.io/age"
	"github.com/spf13/cobra"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// URLs and plain folders

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
	url          string
	passwordFile string
	recipient    string
	identityFile string
}

func (f *repoFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.url, "repo", "", "the repository: a folder, file:///path or a bucket URL")
	cmd.Flags().StringVar(&f.passwordFile, "password-file", "",
		"file holding the password (default: $"+passwordEnv+")")
	cmd.Flags().StringVar(&f.identityFile, "identity-file", "",
		"age identity file that reads a recipient-mode repository")
}

func (f *repoFlags) validate() error {
	if f.url == "" {
		return usageErrorf("--repo is required")
	}
	return nil
}

// bucketURL turns a plain folder into a file:// URL for the object store.
func (f *repoFlags) bucketURL(create bool) (string, error) {
	if strings.Contains(f.url, "://") {
		return f.url, nil
	}
	abs, err := filepath.Abs(f.url)
	if err != nil {
		return "", err
	}
	if create {
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return "", err
		}
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: "no_tmp_dir=true"}
	return u.String(), nil
}

func (f *repoFlags) openBucket(ctx context.Context, create bool) (*blob.Bucket, error) {
	u, err := f.bucketURL(create)
	if err != nil {
		return nil, err
	}
	b, err := blob.OpenBucket(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", f.url, err)
	}
	return b, nil
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

// open opens the repository; the caller closes the returned bucket.
func (f *repoFlags) open(ctx context.Context) (*repository.Repository, *blob.Bucket, error) {
	c, err := f.credentials()
	if err != nil {
		return nil, nil, err
	}
	b, err := f.openBucket(ctx, false)
	if err != nil {
		return nil, nil, err
	}
	r, err := repository.Open(ctx, b, c, nil)
	if err != nil {
		_ = b.Close()
		if errors.Is(err, repository.ErrWrongKey) {
			return nil, nil, usageErrorf("%v", err)
		}
		return nil, nil, err
	}
	return r, b, nil
}

// closeBucket closes a bucket at the end of a command whose result is
// already decided.
func closeBucket(b *blob.Bucket) { _ = b.Close() }
