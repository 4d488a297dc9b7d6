package location

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
)

// opened is a bucket and, for stores that need it, a way to drop what a
// failed upload of a key left behind.
type opened struct {
	bucket  *blob.Bucket
	cleanup func(ctx context.Context, key string) error
}

func openFile(t *target, mustExist bool) (*opened, error) {
	err := statFolder(t.dir)
	if err != nil && (mustExist || !errors.Is(err, ErrNotFound)) {
		return nil, err
	}
	b, err := fileblob.OpenBucket(t.dir, &fileblob.Options{
		CreateDir: !mustExist,
		// Temporary files next to their target, so that publishing is a
		// rename within one file system; no metadata sidecar files.
		NoTempDir: true,
		Metadata:  fileblob.MetadataDontWrite,
	})
	if err != nil {
		return nil, err
	}
	return &opened{bucket: b}, nil
}

// plainKey reports whether key maps to a file of the same name, with none
// of the escaping fileblob applies to unusual keys.
func plainKey(key string) bool {
	if key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") ||
		strings.HasSuffix(key, ".attrs") {
		return false
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	for _, c := range key {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '-' || c == '_' || c == '/'
		if !ok {
			return false
		}
	}
	return true
}

// linkIfAbsent publishes a file with a hard link, which fails when the name
// is taken, even by another process: fileblob's own check holds only within
// one process.
func (l *Location) linkIfAbsent(key string, data []byte) error {
	path := filepath.Join(l.dir, filepath.FromSlash(key))
	tmp := path + "." + strconv.FormatInt(time.Now().UnixNano(), 16) + ".tmp"
	var f *os.File
	err := l.createInFolder(func() error {
		if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
			return err
		}
		var err error
		f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		return err
	})
	if err != nil {
		return fmt.Errorf("write %s in %s: %w", key, l.URL, err)
	}
	defer func() { _ = os.Remove(tmp) }()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s in %s: %w", key, l.URL, err)
	}
	err = os.Link(tmp, path)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s: %w", key, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("write %s in %s: %w", key, l.URL, err)
	}
	return nil
}

// tempName matches the temporary files that writes to a folder make next to
// their target (see fileblob's NoTempDir and linkIfAbsent).
var tempName = regexp.MustCompile(`\.[0-9a-f]+\.tmp$`)

// RemoveStaleTemp removes, under prefix, the temporary files of writes to a
// folder that never finished, such as those of a process killed while
// writing, once they are older than age. It returns how many it removed.
// Object stores keep no such files, and other locations remove nothing.
func (l *Location) RemoveStaleTemp(ctx context.Context, prefix string,
	age time.Duration) (int, error) {
	if l.dir == "" || l.ReadOnly {
		return 0, nil
	}
	root := filepath.Join(l.dir, filepath.FromSlash(prefix))
	cutoff := time.Now().Add(-age)
	removed := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || ctx.Err() != nil {
			return errors.Join(err, ctx.Err())
		}
		if !d.Type().IsRegular() || !tempName.MatchString(d.Name()) {
			return nil
		}
		fi, err := d.Info()
		if err != nil || fi.ModTime().After(cutoff) {
			return nil // gone meanwhile, or a write still running
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		removed++
		return nil
	})
	if err != nil {
		return removed, fmt.Errorf("remove stale temporary files in %s: %w", l.URL, err)
	}
	return removed, nil
}
