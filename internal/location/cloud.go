package location

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"

	"golang.org/x/oauth2/google"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob:// locations
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/gcp"
)

// gcsScope is the access a location needs in Cloud Storage.
const gcsScope = "https://www.googleapis.com/auth/devstorage.read_write"

func openBucket(ctx context.Context, t *target, opts Options) (*opened, error) {
	switch t.scheme {
	case "file":
		return openFile(t, opts.MustExist)
	case "s3":
		return openS3(ctx, t, opts)
	case "gs":
		return openGCS(ctx, t, opts)
	case "azblob":
		return openAzure(ctx, t, opts)
	}
	return nil, fmt.Errorf("unknown scheme %q", t.scheme)
}

// bucketURL is the URL of the bucket itself, for gocloud's URL openers: the
// key prefix is applied by the location.
func (t *target) bucketURL() *url.URL {
	return &url.URL{Scheme: t.scheme, Host: t.bucket, RawQuery: t.query.Encode()}
}

// openGCS uses a service account key file, or the application default
// credentials. Without either it fails: gocloud's own opener would fall
// back to anonymous access, which cannot write, and print a warning on
// stdout, among a command's JSON.
func openGCS(ctx context.Context, t *target, opts Options) (*opened, error) {
	creds, err := gcsCredentials(ctx, opts.CredentialsFile)
	if err != nil {
		return nil, err
	}
	client, err := gcp.NewHTTPClient(gcp.DefaultTransport(), gcp.CredentialsTokenSource(creds))
	if err != nil {
		return nil, err
	}
	opener := &gcsblob.URLOpener{Client: client}
	b, err := opener.OpenBucketURL(ctx, t.bucketURL())
	if err != nil {
		return nil, err
	}
	return &opened{bucket: b}, nil
}

func gcsCredentials(ctx context.Context, file string) (*google.Credentials, error) {
	if file == "" {
		creds, err := google.FindDefaultCredentials(ctx, gcsScope)
		if err != nil {
			return nil, fmt.Errorf("no Google Cloud credentials: name a service account "+
				"key file with cairn location add --credentials-file, or set "+
				"GOOGLE_APPLICATION_CREDENTIALS: %w", err)
		}
		return creds, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("credentials file: %w", err)
	}
	creds, err := google.CredentialsFromJSONWithType(ctx, data, google.ServiceAccount, gcsScope)
	if err != nil {
		return nil, fmt.Errorf("credentials file %s: %w", file, err)
	}
	return creds, nil
}

// openAzure uses the environment of the Azure SDK (AZURE_STORAGE_ACCOUNT with
// AZURE_STORAGE_KEY, a SAS token or a managed identity).
func openAzure(ctx context.Context, t *target, opts Options) (*opened, error) {
	if opts.CredentialsFile != "" {
		return nil, errors.New("azblob:// takes its credentials from the AZURE_STORAGE_* " +
			"environment, not a credentials file")
	}
	b, err := blob.OpenBucket(ctx, t.bucketURL().String())
	if err != nil {
		return nil, err
	}
	return &opened{bucket: b}, nil
}
