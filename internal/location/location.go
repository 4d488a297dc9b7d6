// Package location stores cairn's backups and restore records: a local
// folder or an object-storage bucket, behind one small set of operations on
// keys. It knows nothing of what the keys hold.
//
// The only promises callers build on: a written object appears whole or not
// at all (Writer.Close publishes it, Writer.Abort discards it), and
// PutIfAbsent never replaces an object that exists. Backups use the second to
// publish their manifest last, so a backup is visible only once complete.
package location

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// locations
	"gocloud.dev/gcerrors"
)

// ErrNotFound is returned for a key that does not exist.
var ErrNotFound = errors.New("not found")

// ErrExists is returned by PutIfAbsent for a key that exists.
var ErrExists = errors.New("already exists")

// Location is an opened backup location.
type Location struct {
	// URL is the location as the user gave it, normalised.
	URL    string
	bucket *blob.Bucket
}

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

// Open opens a location URL. An empty URL means DefaultURL; a plain path is
// taken as a folder. Folders are created when missing.
func Open(ctx context.Context, raw string) (*Location, error) {
	if raw == "" {
		raw = DefaultURL()
	}
	u, err := normalise(raw)
	if err != nil {
		return nil, err
	}
	b, err := blob.OpenBucket(ctx, u.String())
	if err != nil {
		return nil, fmt.Errorf("open location %s: %w", raw, err)
	}
	display := *u
	display.RawQuery = ""
	return &Location{URL: display.String(), bucket: b}, nil
}

func normalise(raw string) (*url.URL, error) {
	if !strings.Contains(raw, "://") {
		abs, err := filepath.Abs(raw)
		if err != nil {
			return nil, err
		}
		raw = "file://" + abs
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("location %q: %w", raw, err)
	}
	if u.Scheme == "file" {
		if u.Path == "" || u.Host != "" {
			return nil, fmt.Errorf("location %q: a file location needs an absolute path, "+
				"as in file:///var/backups", raw)
		}
		q := u.Query()
		// Temporary files next to their target, so that publishing is a
		// rename within one file system; no metadata sidecar files.
		q.Set("create_dir", "1")
		q.Set("no_tmp_dir", "1")
		q.Set("metadata", "skip")
		u.RawQuery = q.Encode()
	}
	return u, nil
}

// Close releases the location.
func (l *Location) Close() error { return l.bucket.Close() }

// Bucket exposes the underlying bucket for stores with their own layout,
// such as the volume-data repository.
func (l *Location) Bucket() *blob.Bucket { return l.bucket }

// Writer streams one object into the location.
type Writer struct {
	w      *blob.Writer
	cancel context.CancelFunc
	key    string
}

// NewWriter starts writing key. The object appears only when Close
// succeeds; Abort, or a failed Close, leaves no object behind.
func (l *Location) NewWriter(ctx context.Context, key string) (*Writer, error) {
	return l.newWriter(ctx, key, false)
}

func (l *Location) newWriter(ctx context.Context, key string, ifAbsent bool) (*Writer, error) {
	ctx, cancel := context.WithCancel(ctx)
	w, err := l.bucket.NewWriter(ctx, key, &blob.WriterOptions{
		ContentType: "application/octet-stream",
		IfNotExist:  ifAbsent,
	})
	if err != nil {
		cancel()
		return nil, l.wrap(key, "write", err)
	}
	return &Writer{w: w, cancel: cancel, key: key}, nil
}

func (w *Writer) Write(p []byte) (int, error) { return w.w.Write(p) }

// Close publishes the object.
func (w *Writer) Close() error {
	defer w.cancel()
	if err := w.w.Close(); err != nil {
		if gcerrors.Code(err) == gcerrors.FailedPrecondition {
			return fmt.Errorf("%s: %w", w.key, ErrExists)
		}
		return fmt.Errorf("write %s: %w", w.key, err)
	}
	return nil
}

// Abort discards what was written.
func (w *Writer) Abort() {
	w.cancel()
	_ = w.w.Close()
}

// Put writes a small object whole.
func (l *Location) Put(ctx context.Context, key string, data []byte) error {
	return l.put(ctx, key, data, false)
}

// PutIfAbsent writes a small object unless key exists, in which case it
// returns ErrExists.
func (l *Location) PutIfAbsent(ctx context.Context, key string, data []byte) error {
	if ok, err := l.Exists(ctx, key); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("%s: %w", key, ErrExists)
	}
	return l.put(ctx, key, data, true)
}

func (l *Location) put(ctx context.Context, key string, data []byte, ifAbsent bool) error {
	w, err := l.newWriter(ctx, key, ifAbsent)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Abort()
		return l.wrap(key, "write", err)
	}
	return w.Close()
}

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
// sub-prefixes one level down.
func (l *Location) List(ctx context.Context, prefix, delim string) ([]string, error) {
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

// Delete removes key; a missing key is not an error.
func (l *Location) Delete(ctx context.Context, key string) error {
	err := l.bucket.Delete(ctx, key)
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return l.wrap(key, "delete", err)
	}
	return nil
}

// Probe checks that the location can be written, read and deleted by
// writing a small object under prefix.
func (l *Location) Probe(ctx context.Context, key string) error {
	want := []byte("cairn location probe\n")
	if err := l.Put(ctx, key, want); err != nil {
		return fmt.Errorf("location %s is not writable: %w", l.URL, err)
	}
	got, err := l.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("location %s is not readable: %w", l.URL, err)
	}
	if string(got) != string(want) {
		return fmt.Errorf("location %s returned different bytes than written", l.URL)
	}
	return l.Delete(ctx, key)
}

func (l *Location) wrap(key, op string, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%s %s: %w", op, key, ErrNotFound)
	}
	return fmt.Errorf("%s %s in %s: %w", op, key, l.URL, err)
}
