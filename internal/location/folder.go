package location

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"gocloud.dev/gcerrors"
)

// ErrNotFolder is returned for a file location whose path exists and is
// not a folder.
var ErrNotFolder = errors.New("not a folder")

// A folder location keeps the folders of its keys only while they hold
// something: Delete, Abort and a failed Close remove the folders above the
// key that they leave empty, up to the location's own folder, which stays.
// An interrupted backup therefore leaves no empty backups/NAME/ behind.
//
// That removal races with writers: a writer makes the folder of its key,
// then creates a temporary file in it, and a removal in between fails the
// create with ENOENT. Within one process the race cannot happen: writers
// make the folder and create the file under folderLock read-locked, and
// removals hold it locked. Against another process on the same folder, a
// write that fails with ENOENT makes the folder again and retries once;
// only a second removal, by yet another delete that emptied the folder in
// that moment, fails it, and the write is then reported as failed, never
// left half done. Once the temporary file exists the folder is not empty
// and stays until the file is renamed or linked into place beside it.

// folderLock orders making a folder and a file in it before removing the
// folders left empty, across the locations of this process.
var folderLock sync.RWMutex

// createInFolder runs create, which makes a folder of the location and a
// new file in it, so that no removal of empty folders comes in between,
// and runs it once more when it fails with ENOENT: see above. For object
// stores, it only runs create.
func (l *Location) createInFolder(create func() error) error {
	if l.dir == "" {
		return create()
	}
	folderLock.RLock()
	defer folderLock.RUnlock()
	err := create()
	if errors.Is(err, fs.ErrNotExist) || gcerrors.Code(err) == gcerrors.NotFound {
		err = create()
	}
	return err
}

// pruneFolders removes the folders above key that are empty, deepest
// first, and stops at the first that is not, or at the location's folder.
// It removes nothing for object stores, where folders are only prefixes.
func (l *Location) pruneFolders(key string) {
	if l.dir == "" {
		return
	}
	parent := path.Dir(key)
	if parent == "." || !plainKey(parent) {
		return // a key with no folder, or one fileblob stores under another name
	}
	folderLock.Lock()
	defer folderLock.Unlock()
	for d := parent; d != "." && d != "/"; d = path.Dir(d) {
		// Rmdir, unlike os.Remove, never removes a file put where a
		// folder was, and fails on a folder that is not empty.
		if err := syscall.Rmdir(filepath.Join(l.dir, filepath.FromSlash(d))); err != nil {
			return
		}
	}
}

// checkReadable reads the folders that fileblob reads to list prefix, and
// returns an error for a folder it could not read. fileblob skips what it
// cannot read, so a folder closed to this user would make what it holds
// look absent: backups missing from a list, or a location that looks
// empty. A folder that does not exist holds no keys and is no error.
//
// The walk follows fileblob's: it skips folders whose keys cannot match
// prefix and, with a delimiter, the rest of a folder already listed by its
// name. With a delimiter, a folder that could not be read inside a folder
// that is listed anyway, by a key found beside it, changes nothing and is
// no error either.
func (l *Location) checkReadable(ctx context.Context, prefix, delim string) error {
	root := l.dir
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		root = filepath.Join(root, filepath.FromSlash(prefix[:i]))
	}
	// name is the name a key is listed by, "" for a key listed whole.
	name := func(key string) string {
		if delim == "" || !strings.HasPrefix(key, prefix) {
			return ""
		}
		i := strings.Index(key[len(prefix):], delim)
		if i < 0 {
			return ""
		}
		return key[:len(prefix)+i+len(delim)]
	}
	var shown string             // the last name listed
	unread := map[string]error{} // folders not read, by the name they are in
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed meanwhile, or never made
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		key := filepath.ToSlash(strings.TrimPrefix(p, l.dir+string(filepath.Separator)))
		if p == l.dir {
			key = ""
		} else if d != nil && d.IsDir() {
			key += "/"
		}
		if err != nil {
			n := name(key)
			if n == "" {
				return err
			}
			if _, ok := unread[n]; !ok {
				unread[n] = err
			}
			return nil
		}
		if !d.IsDir() {
			if n := name(key); n != "" {
				shown = n
				delete(unread, n)
			}
			return nil
		}
		if key != "" && (len(key) > len(prefix) && !strings.HasPrefix(key, prefix) ||
			shown != "" && strings.HasPrefix(key, shown)) {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(unread) == 0 {
		return nil
	}
	return unread[slices.Min(slices.Collect(maps.Keys(unread)))]
}

// CheckFolder checks the folder of a file location: ErrNotFound when it
// does not exist, ErrNotFolder when the path is something else. Other
// locations are not checked.
func CheckFolder(raw string) error {
	t, err := parse(raw)
	if err != nil {
		return err
	}
	if t.scheme != "file" {
		return nil
	}
	return statFolder(t.dir)
}

// MakeFolder makes the folder of a file location, with its parents, and
// reports whether it was missing. A path that exists and is not a folder
// is ErrNotFolder. Other locations are left alone.
func MakeFolder(raw string) (made bool, err error) {
	t, err := parse(raw)
	if err != nil || t.scheme != "file" {
		return false, err
	}
	if err := statFolder(t.dir); !errors.Is(err, ErrNotFound) {
		return false, err
	}
	if err := os.MkdirAll(t.dir, 0o777); err != nil {
		return false, fmt.Errorf("make folder %s: %w", t.dir, err)
	}
	return true, nil
}

// statFolder checks that dir is a folder: ErrNotFound when it does not
// exist, ErrNotFolder when it is something else.
func statFolder(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("folder %s: %w", dir, ErrNotFound)
	}
	if errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%s: a parent is %w", dir, ErrNotFolder)
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: %w", dir, ErrNotFolder)
	}
	return nil
}
