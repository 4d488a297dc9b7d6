package repository

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// existingAction is what a restore does at a path, given what is there.
type existingAction int

const (
	actCreate   existingAction = iota // nothing there, or it was removed
	actKeep                           // it matches: keep it, set metadata
	actSkip                           // SkipExisting: leave it as it is
	actConflict                       // it differs and may not be replaced
)

// existing looks at what is at path and decides, by the policy, what to do;
// under Overwrite it removes an entry that does not match.
func (rs *restore) existing(path string, n *Node) (existingAction, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return actCreate, nil
	}
	if err != nil {
		return 0, err
	}
	switch {
	case rs.opts.Existing == SkipExisting:
		return actSkip, nil
	case matches(path, fi, n):
		return actKeep, nil
	case rs.opts.Existing == Overwrite:
		if err := rs.openUp(filepath.Dir(path)); err != nil {
			return 0, err
		}
		return actCreate, os.RemoveAll(path)
	}
	return actConflict, nil
}

// openUp lets a process without root change an existing folder whose mode
// forbids it, when something in it is to be created or replaced. The folder
// gets its mode back before metadata is set; a folder the snapshot holds
// then gets the snapshot's.
func (rs *restore) openUp(dir string) error {
	if rs.chown || rs.opened[dir] {
		return nil
	}
	rs.opened[dir] = true
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	mode := uint32(fi.Mode().Perm())
	if !fi.IsDir() || mode&0o300 == 0o300 {
		return nil
	}
	rs.modes = append(rs.modes, metaItem{path: dir, node: &Node{Mode: mode}})
	return os.Chmod(dir, os.FileMode(mode|0o700))
}

// makeLinks makes the hard links; a name that is already a link to the
// same file is kept.
func (rs *restore) makeLinks() {
	for _, l := range rs.links {
		if rs.isFailed(l.from) {
			rs.fail(l.to, "link", errors.New("the file it links to was not restored"))
			continue
		}
		fi, err := os.Lstat(l.to)
		if err == nil {
			if from, ferr := os.Lstat(l.from); ferr == nil && os.SameFile(fi, from) {
				rs.stats.Unchanged++
				continue
			}
			switch rs.opts.Existing {
			case SkipExisting:
				rs.skip(l.to)
				continue
			case Overwrite:
				if err = rs.openUp(filepath.Dir(l.to)); err == nil {
					err = os.RemoveAll(l.to)
				}
			default:
				err = errDiffers
			}
			if err != nil {
				rs.fail(l.to, "link", err)
				continue
			}
		}
		if err := rs.openUp(filepath.Dir(l.to)); err != nil {
			rs.fail(l.to, "link", err)
			continue
		}
		if err := os.Link(l.from, l.to); err != nil {
			rs.fail(l.to, "link", err)
		}
	}
}
