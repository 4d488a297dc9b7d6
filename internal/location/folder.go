package location

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
)

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
