package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/crypt"
	"github.com/cairn-backup/cairn/internal/location"
)

// The keys of a backup in its location (see docs/format.md):
//
//	backups/<name>/archive-<uid>.tar.zst   the archive of one run
//	backups/<name>/log-<uid>.jsonl         that run's log
//	backups/<name>/manifest.json           published last: the backup exists
const backupsPrefix = "backups/"

func keyPrefix(name string) string { return backupsPrefix + name + "/" }

// ManifestKey is the key of a backup's manifest.
func ManifestKey(name string) string { return keyPrefix(name) + "manifest.json" }

// ArchiveKey is the key of the archive of one run of a backup.
func ArchiveKey(name, uid string) string { return keyPrefix(name) + "archive-" + uid + ".tar.zst" }

// LogKey is the key of the log of one run of a backup.
func LogKey(name, uid string) string { return keyPrefix(name) + "log-" + uid + ".jsonl" }

// ErrNotFound is returned for a backup that is not in the location.
var ErrNotFound = errors.New("backup not found")

func publish(ctx context.Context, loc *location.Location, m *archive.Manifest) error {
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		return err
	}
	err := loc.PutIfAbsent(ctx, ManifestKey(m.Name), buf.Bytes())
	if errors.Is(err, location.ErrExists) {
		return fmt.Errorf("%w: %s was published by another run meanwhile", ErrExists, m.Name)
	}
	return err
}

// Get reads the manifest of a published backup.
func Get(ctx context.Context, loc *location.Location, name string) (*archive.Manifest, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	data, err := loc.Get(ctx, ManifestKey(name))
	if errors.Is(err, location.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s in %s", ErrNotFound, name, loc.URL)
	}
	if err != nil {
		return nil, err
	}
	m, err := archive.DecodeManifest(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", name, err)
	}
	// A folder copied or renamed by hand holds another backup's manifest,
	// which points at that backup's archive.
	if m.Name != name || !strings.HasPrefix(m.Archive.Key, keyPrefix(name)) {
		return nil, fmt.Errorf("backup %s: its manifest describes backup %s (archive %s); "+
			"the folder was copied or renamed by hand", name, m.Name, m.Archive.Key)
	}
	return m, nil
}

// List reads the manifests of every published backup, oldest first. Only
// keys under backups/ are read. Folders that are not backups (no manifest:
// a backup running or interrupted, or something else's files; a name no
// backup can have) are left out; unreadable manifests are returned as
// errors beside the others.
func List(ctx context.Context, loc *location.Location) ([]*archive.Manifest, error) {
	dirs, err := loc.List(ctx, backupsPrefix, "/")
	if err != nil {
		return nil, err
	}
	var out []*archive.Manifest
	var errs []error
	for _, dir := range dirs {
		name := strings.TrimSuffix(strings.TrimPrefix(dir, backupsPrefix), "/")
		if !strings.HasSuffix(dir, "/") || ValidateName(name) != nil {
			continue
		}
		m, err := Get(ctx, loc, name)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *archive.Manifest) int {
		if c := a.StartTime.Compare(b.StartTime); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, errors.Join(errs...)
}

// OpenArchive streams the archive of a backup as stored: encrypted when the
// backup is.
func OpenArchive(ctx context.Context, loc *location.Location, m *archive.Manifest) (io.ReadCloser, error) {
	return loc.Open(ctx, m.Archive.Key)
}

// Delete removes a backup: its manifest first, so that it stops being a
// backup at once, then everything else under its name, including what
// interrupted runs left.
func Delete(ctx context.Context, loc *location.Location, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	ok, err := loc.Exists(ctx, ManifestKey(name))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s in %s", ErrNotFound, name, loc.URL)
	}
	if err := loc.Delete(ctx, ManifestKey(name)); err != nil {
		return err
	}
	keys, err := loc.List(ctx, keyPrefix(name), "")
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range keys {
		errs = append(errs, loc.Delete(ctx, k))
	}
	return errors.Join(errs...)
}

// Objects reads a backup's archive through and returns its index, which
// lists every object. The objects are checked against the index on the
// way.
func Objects(ctx context.Context, loc *location.Location, m *archive.Manifest,
	keys crypt.Keys) ([]archive.IndexEntry, error) {
	r, closer, err := Open(ctx, loc, m, keys)
	if err != nil {
		return nil, err
	}
	defer func() { _ = closer.Close() }()
	r.KeepIndex()
	for {
		if _, err := r.Next(); errors.Is(err, io.EOF) {
			return r.Index(), nil
		} else if err != nil {
			return nil, fmt.Errorf("backup %s: %w", m.Name, err)
		}
	}
}

// Open reads a backup's objects: it opens the archive, decrypts it with
// the keys when it is encrypted, and returns an archive reader. Close the
// returned closer when done.
func Open(ctx context.Context, loc *location.Location, m *archive.Manifest,
	keys crypt.Keys) (*archive.Reader, io.Closer, error) {
	rc, err := OpenArchive(ctx, loc, m)
	if err != nil {
		return nil, nil, err
	}
	plain, err := decrypt(rc, m, keys)
	if err != nil {
		_ = rc.Close()
		return nil, nil, fmt.Errorf("backup %s: %w", m.Name, err)
	}
	r, err := archive.NewReader(plain)
	if err != nil {
		_ = rc.Close()
		return nil, nil, fmt.Errorf("backup %s: %w", m.Name, err)
	}
	return r, closers{r, rc}, nil
}

// decrypt returns the plaintext of a stored archive.
func decrypt(r io.Reader, m *archive.Manifest, keys crypt.Keys) (io.Reader, error) {
	switch m.Archive.Encryption {
	case "":
		return r, nil
	case crypt.Scheme:
		return keys.Decrypt(r)
	}
	return nil, fmt.Errorf("archive encryption %q is not known to this cairn", m.Archive.Encryption)
}

type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
