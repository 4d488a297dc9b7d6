package repository

import (
	"context"
	"fmt"
	"path"
	"slices"
)

// AffectedFile is a file of a snapshot that cannot be restored because
// chunks of it lie only in damaged packs.
type AffectedFile struct {
	Snapshot ID `json:"snapshot"`
	// Path is relative to the snapshot's folder; a folder whose listing is
	// lost ends in a slash.
	Path string `json:"path"`
	// Objects are the damaged packs that held its chunks or its listing.
	Objects []string `json:"objects"`
}

// findAffected walks every snapshot and lists the files that need a blob
// found only in the damaged packs of rep.
func (r *Repository) findAffected(ctx context.Context, rep *CheckReport,
	packs []indexPack) error {
	all, good := newIndex(), newIndex()
	for _, p := range packs {
		all.add(p)
		if !rep.bad[p.ID] {
			good.add(p)
		}
	}
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	a := &affectedWalk{r: r, all: all, good: good, clean: map[ID]bool{}}
	for _, s := range snaps {
		a.snap = s.ID
		if err := a.walk(ctx, s.Tree, ""); err != nil {
			return err
		}
	}
	rep.Affected = a.found
	return nil
}

// affectedWalk is the state of findAffected; clean holds trees with no
// affected file below them, which later snapshots need not walk again.
type affectedWalk struct {
	r         *Repository
	all, good *Index
	clean     map[ID]bool
	snap      ID
	found     []AffectedFile
}

// walk records the affected files under the tree, dir being its path.
func (a *affectedWalk) walk(ctx context.Context, tree ID, dir string) error {
	if a.clean[tree] {
		return nil
	}
	before := len(a.found)
	if objs := a.lost([]ID{tree}); len(objs) > 0 {
		a.found = append(a.found, AffectedFile{Snapshot: a.snap, Path: dir + "/",
			Objects: objs})
		return nil
	}
	t, err := a.r.LoadTree(ctx, a.all, tree)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return nil // check reports trees that do not load
	}
	for i := range t.Nodes {
		n := &t.Nodes[i]
		p := path.Join(dir, n.Name)
		if n.Subtree != nil {
			if err := a.walk(ctx, *n.Subtree, p); err != nil {
				return err
			}
		}
		if objs := a.lost(n.Content); len(objs) > 0 {
			a.found = append(a.found, AffectedFile{Snapshot: a.snap, Path: p, Objects: objs})
		}
	}
	if len(a.found) == before {
		a.clean[tree] = true
	}
	return nil
}

// lost returns the damaged packs of the blobs that no undamaged pack holds.
func (a *affectedWalk) lost(ids []ID) []string {
	var objs []string
	for _, id := range ids {
		if a.good.Has(id) {
			continue
		}
		if p, _, ok := a.all.Lookup(id); ok {
			if key := packKey(p.ID); !slices.Contains(objs, key) {
				objs = append(objs, key)
			}
		}
	}
	return objs
}
