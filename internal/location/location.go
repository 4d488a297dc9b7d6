// Package location stores cairn's backups and restore records: a local
// folder or an object-storage bucket, behind one small set of operations on
// keys. It knows nothing of what the keys hold.
//
// The only promises callers build on: a written object appears whole or not
// at all (Writer.Close publishes it, Writer.Abort discards it), and
// PutIfAbsent never replaces an object that exists. Backups use the second to
// publish their manifest last, so a backup is visible only once complete.
//
// A location is a URL: file:// for a folder, s3:// for any S3-compatible
// store, gs:// and azblob:// for Google Cloud Storage and Azure Blob Storage.
// The URL path of a bucket is a key prefix that every read, write and list
// goes through, so a location never sees objects outside it. Nothing is
// rewritten once published, so buckets with object lock work.
package location

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// locations
	"gocloud.dev/gcerrors"
)

// ErrNotFound is returned for a key that does not exist.
var ErrNotFound = errors.New("not found")

// ErrExists is returned by PutIfAbsent for a key that exists.
var ErrExists = errors.New("already exists")

// ErrReadOnly is returned by every write to a location opened read-only.
var ErrReadOnly = errors.New("location is read-only")

// Location is an opened backup location.
type Location struct {
	// URL is the location as the user gave it, normalised, without the
	// driver options of its query.
	URL string
	// ReadOnly is set for a location opened with Options.ReadOnly.
	ReadOnly bool

	bucket  *blob.Bucket
	upload  uploadOptions
	dir     string // the folder of a file:// location, with its prefix
	cleanup func(ctx context.Context, key string) error
}

// Options tune how a location is opened. The zero value suits most uses.
type Options struct {
	// ReadOnly makes every write fail with ErrReadOnly, so that a location
	// shared with another cluster, or one kept for restores, cannot be
	// changed by mistake.
	ReadOnly bool
	// CredentialsFile holds the credentials of an object store, in place of
	// the usual environment: for s3:// an AWS shared credentials file, for
	// gs:// a service account key (JSON). An s3:// credentials file is
	// read again when it changes, so keys can rotate under a running backup.
	CredentialsFile string
	// PartSize and Concurrency shape the multipart uploads of s3://, gs://
	// and azblob:// writers: parts of PartSize bytes, Concurrency of them in
	// flight. Memory use is about PartSize*(Concurrency+1) per writer. Zero
	// means DefaultPartSize and DefaultConcurrency.
	PartSize    int
	Concurrency int
	// MustExist makes opening a folder that does not exist fail with
	// ErrNotFound instead of creating it, so that a mistyped path is not
	// taken for an empty location. Object stores are not checked.
	MustExist bool
}

// DefaultPartSize is the part size of multipart uploads. With S3's limit of
// 10,000 parts, it bounds a streamed object to about 80 GiB.
const DefaultPartSize = 8 << 20

// DefaultConcurrency is the number of upload parts in flight per writer.
const DefaultConcurrency = 4

type uploadOptions struct{ partSize, concurrency int }

// DefaultURL is the location used when none is given: a folder under the
// user's data directory.
func DefaultURL() string {
	base := os.Getenv("XDG_DATA_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		base = filepath.Join(home, ".local", "share")
	}
	return "file://" + filepath.Join(base, "cairn", "backups")
}

// Open opens a location URL with default options. An empty URL means
// DefaultURL; a plain path is taken as a folder. Folders are created when
// missing.
func Open(ctx context.Context, raw string) (*Location, error) {
	return OpenWith(ctx, raw, Options{})
}

// OpenWith opens a location URL with options.
func OpenWith(ctx context.Context, raw string, opts Options) (*Location, error) {
	if raw == "" {
		raw = DefaultURL()
	}
	t, err := parse(raw)
	if err != nil {
		return nil, err
	}
	l := &Location{
		URL:      t.display,
		ReadOnly: opts.ReadOnly,
		upload:   uploadOptions{partSize: opts.PartSize, concurrency: opts.Concurrency},
	}
	if l.upload.partSize <= 0 {
		l.upload.partSize = DefaultPartSize
	}
	if l.upload.concurrency <= 0 {
		l.upload.concurrency = DefaultConcurrency
	}

	o, err := openBucket(ctx, t, opts)
	if err != nil {
		return nil, fmt.Errorf("open location %s: %w", l.URL, err)
	}
	l.bucket = o.bucket
	if t.prefix != "" {
		l.bucket = blob.PrefixedBucket(o.bucket, t.prefix)
	}
	if o.cleanup != nil {
		l.cleanup = func(ctx context.Context, key string) error {
			return o.cleanup(ctx, t.prefix+key)
		}
	}
	if t.scheme == "file" {
		l.dir = t.dir
	}
	return l, nil
}

// Close releases the location.
func (l *Location) Close() error { return l.bucket.Close() }

// Bucket exposes the underlying bucket for stores with their own layout,
// such as the volume-data repository.
func (l *Location) Bucket() *blob.Bucket { return l.bucket }

// Get reads a small object whole.
func (l *Location) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := l.bucket.ReadAll(ctx, key)
	if err != nil {
		return nil, l.wrap(key, "read", err)
	}
	return b, nil
}

// Open streams an object.
func (l *Location) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	r, err := l.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return nil, l.wrap(key, "read", err)
	}
	return r, nil
}

// Size returns the size of an object in bytes.
func (l *Location) Size(ctx context.Context, key string) (int64, error) {
	a, err := l.bucket.Attributes(ctx, key)
	if err != nil {
		return 0, l.wrap(key, "stat", err)
	}
	return a.Size, nil
}

// Exists reports whether key exists.
func (l *Location) Exists(ctx context.Context, key string) (bool, error) {
	ok, err := l.bucket.Exists(ctx, key)
	if err != nil {
		return false, l.wrap(key, "stat", err)
	}
	return ok, nil
}

// List returns the keys under prefix, or with delim "/" the keys and
// sub-prefixes one level down. In a folder, a folder under prefix that
// cannot be read is an error, not a folder that looks empty.
func (l *Location) List(ctx context.Context, prefix, delim string) ([]string, error) {
	if l.dir != "" {
		if err := l.checkReadable(ctx, prefix, delim); err != nil {
			return nil, fmt.Errorf("list %s in %s: %w", prefix, l.URL, err)
		}
	}
	it := l.bucket.List(&blob.ListOptions{Prefix: prefix, Delimiter: delim})
	var keys []string
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return keys, nil
		}
		if err != nil {
			return nil, l.wrap(prefix, "list", err)
		}
		keys = append(keys, obj.Key)
	}
}

func (l *Location) wrap(key, op string, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%s %s: %w", op, key, ErrNotFound)
	}
	return fmt.Errorf("%s %s in %s: %w", op, key, l.URL, err)
}
