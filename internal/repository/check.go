package repository

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/zeebo/blake3"
)

// CheckOptions tune a check.
type CheckOptions struct {
	// ReadDataPercent is the share of packs, 0 to 100, that are read whole:
	// their hash is compared with their name and every blob is decrypted
	// and its id checked. 0 checks structure only.
	ReadDataPercent float64
}

// Problem is one thing check found wrong.
type Problem struct {
	Object  string `json:"object"`
	Message string `json:"message"`
}

// CheckReport is what check found.
type CheckReport struct {
	IndexObjects int       `json:"indexObjects"`
	Packs        int       `json:"packs"`
	Blobs        int       `json:"blobs"`
	Snapshots    int       `json:"snapshots"`
	Trees        int       `json:"trees"`
	PacksRead    int       `json:"packsRead"`
	WriteOnly    bool      `json:"writeOnly,omitempty"`
	Errors       []Problem `json:"errors,omitempty"`
	Warnings     []Problem `json:"warnings,omitempty"`
	// Affected lists the snapshots' files whose data lies in damaged packs
	// and has no other copy; they cannot be restored.
	Affected []AffectedFile `json:"affected,omitempty"`

	bad map[ID]bool // damaged packs
}

// OK reports whether check found no errors.
func (c *CheckReport) OK() bool { return len(c.Errors) == 0 }

func (c *CheckReport) fail(obj string, err error) {
	c.Errors = append(c.Errors, Problem{Object: obj, Message: err.Error()})
}

// damaged records an error about a pack and remembers the pack.
func (c *CheckReport) damaged(id ID, err error) {
	c.fail(packKey(id), err)
	if c.bad == nil {
		c.bad = map[ID]bool{}
	}
	c.bad[id] = true
}

func (c *CheckReport) warn(obj, msg string) {
	c.Warnings = append(c.Warnings, Problem{Object: obj, Message: msg})
}

// Check verifies the repository: every index object opens, every indexed
// pack exists with the size and header the index says, every snapshot opens
// and every blob it refers to is indexed. With ReadDataPercent it also reads
// packs whole. Without the reading key, snapshots and blob contents are
// skipped. The error is only for failures to run the check at all.
func (r *Repository) Check(ctx context.Context, o CheckOptions) (*CheckReport, error) {
	rep := &CheckReport{WriteOnly: !r.CanRead()}
	stored, err := listObjects(ctx, r.bucket, dirData)
	if err != nil {
		return nil, fmt.Errorf("check: list packs: %w", err)
	}
	sizes := map[ID]int64{}
	for _, o := range stored {
		id, err := ParseID(o.Name)
		if err != nil {
			rep.warn(o.Key, "not a pack name")
			continue
		}
		sizes[id] = o.Size
	}

	packs, err := r.checkIndex(ctx, rep)
	if err != nil {
		return nil, err
	}
	ix := newIndex()
	for _, p := range packs {
		ix.add(p)
	}
	rep.Blobs = ix.Len()
	r.checkPacks(ctx, rep, packs, sizes)

	if r.CanRead() {
		if err := r.checkSnapshots(ctx, rep, ix); err != nil {
			return nil, err
		}
	}
	if o.ReadDataPercent > 0 {
		r.readData(ctx, rep, packs, o.ReadDataPercent)
	}
	if len(rep.bad) > 0 && r.CanRead() {
		if err := r.findAffected(ctx, rep, packs); err != nil {
			return nil, err
		}
	}
	return rep, ctx.Err()
}

// checkIndex opens every index object and returns the packs they list.
func (r *Repository) checkIndex(ctx context.Context, rep *CheckReport) ([]indexPack, error) {
	list, err := listObjects(ctx, r.bucket, dirIndex)
	if err != nil {
		return nil, fmt.Errorf("check: list index: %w", err)
	}
	var packs []indexPack
	seen := map[ID]bool{}
	for _, o := range list {
		rep.IndexObjects++
		data, err := r.bucket.ReadAll(ctx, o.Key)
		if err != nil {
			rep.fail(o.Key, notFound(err))
			continue
		}
		plain, err := open(r.meta, nil, data, []byte(o.Key))
		if err == nil {
			var ps []indexPack
			if ps, err = decodeIndex(plain); err == nil {
				for _, p := range ps {
					if !seen[p.ID] {
						seen[p.ID] = true
						packs = append(packs, p)
					}
				}
			}
		}
		if err != nil {
			rep.fail(o.Key, err)
		}
	}
	return packs, nil
}

// checkPacks compares each indexed pack's size and header with the index.
func (r *Repository) checkPacks(ctx context.Context, rep *CheckReport, packs []indexPack,
	sizes map[ID]int64) {
	indexed := map[ID]bool{}
	for _, p := range packs {
		indexed[p.ID] = true
		rep.Packs++
		size, ok := sizes[p.ID]
		switch {
		case !ok:
			rep.damaged(p.ID, fmt.Errorf("indexed pack is missing: %w (index says %d bytes)",
				ErrNotFound, p.Size))
			continue
		case size != p.Size:
			rep.damaged(p.ID, fmt.Errorf("%w: pack has %d bytes, index says %d", ErrCorrupt,
				size, p.Size))
			continue
		}
		tail, err := r.readPackTail(ctx, p.ID, size)
		if err != nil {
			rep.damaged(p.ID, err)
			continue
		}
		if !sameBlobs(tail.blobs, p.Blobs) {
			rep.damaged(p.ID, fmt.Errorf("%w: pack header and index disagree", ErrCorrupt))
		}
	}
	for id := range sizes {
		if !indexed[id] {
			rep.warn(packKey(id), "pack is in no index: left by an interrupted backup or one "+
				"still running; prune removes it")
		}
	}
}

func sameBlobs(a, b []Blob) bool {
	cmp := func(x, y Blob) int { return int(x.Offset) - int(y.Offset) }
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, cmp)
	slices.SortFunc(b, cmp)
	return slices.Equal(a, b)
}

// checkSnapshots opens every snapshot and walks its trees.
func (r *Repository) checkSnapshots(ctx context.Context, rep *CheckReport, ix *Index) error {
	ids, err := r.SnapshotIDs(ctx)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	seen := map[ID]bool{}
	for _, id := range ids {
		rep.Snapshots++
		s, err := r.LoadSnapshot(ctx, id)
		if err != nil {
			rep.fail(dirSnapshots+id.String(), err)
			continue
		}
		err = r.walkTrees(ctx, ix, s.Tree, seen, func(tid ID, t *Tree) error {
			rep.Trees++
			for i := range t.Nodes {
				for _, c := range t.Nodes[i].Content {
					if !ix.Has(c) {
						return fmt.Errorf("tree %s: %s: chunk %s: %w in the index",
							tid.Short(), t.Nodes[i].Name, c.Short(), ErrNotFound)
					}
				}
			}
			return nil
		})
		if err != nil {
			rep.fail(dirSnapshots+id.String(), err)
		}
	}
	return nil
}

// readData reads a share of the packs whole, chosen at random so that
// repeated partial checks cover the repository over time.
func (r *Repository) readData(ctx context.Context, rep *CheckReport, packs []indexPack,
	percent float64) {
	order := slices.Clone(packs)
	rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	n := int(math.Ceil(float64(len(order)) * min(percent, 100) / 100))
	for _, p := range order[:n] {
		if ctx.Err() != nil {
			return
		}
		rep.PacksRead++
		if err := r.readPack(ctx, p); err != nil && !rep.bad[p.ID] {
			rep.damaged(p.ID, err)
		}
	}
}

func (r *Repository) readPack(ctx context.Context, p indexPack) error {
	data, err := r.bucket.ReadAll(ctx, packKey(p.ID))
	if err != nil {
		return notFound(err)
	}
	if ID(blake3.Sum256(data)) != p.ID {
		return fmt.Errorf("%w: pack content does not hash to its name", ErrCorrupt)
	}
	tail, err := r.parsePack(p.ID, data)
	if err != nil || !r.CanRead() {
		return err
	}
	aead, err := r.unwrapPackKey(p.ID, tail.wrapped)
	if err != nil {
		return err
	}
	var buf []byte
	for _, b := range tail.blobs {
		end := int64(b.Offset) + int64(b.Length)
		if end > int64(len(data)) {
			return fmt.Errorf("%w: blob %s lies beyond the pack's end", ErrCorrupt, b.ID.Short())
		}
		if buf, err = r.decodeBlob(aead, b, data[b.Offset:end], buf); err != nil {
			return err
		}
	}
	return nil
}
