package repository

import (
	"context"
	"fmt"
	"maps"
	"slices"
)

// sweep deletes the packs of marks that no running backup can still refer
// to, keeping those that a snapshot written since the mark needs.
func (r *Repository) sweep(ctx context.Context, st *pruneState, rep *PruneReport) error {
	now := r.clock()
	doomed := map[ID]bool{}
	var swept []stored[mark]
	for _, m := range st.marks {
		if !st.sweepable(m, now) {
			rep.MarksWaiting++
			continue
		}
		swept = append(swept, m)
		for _, p := range m.Value.Packs {
			doomed[p] = true
		}
	}
	gone := st.missingPacks()
	rep.PacksForgotten = len(gone)
	if len(swept) == 0 {
		return r.compactIndex(ctx, st, gone)
	}

	// A used blob must keep a copy outside the doomed packs, in a pack that
	// is stored.
	elsewhere := map[ID]bool{}
	for _, o := range st.index {
		for _, p := range o.Packs {
			if doomed[p.ID] || gone[p.ID] {
				continue
			}
			for _, b := range p.Blobs {
				if st.used[b.ID] {
					elsewhere[b.ID] = true
				}
			}
		}
	}
	for _, o := range st.index {
		for _, p := range o.Packs {
			if !doomed[p.ID] {
				continue
			}
			for _, b := range p.Blobs {
				if st.used[b.ID] && !elsewhere[b.ID] {
					delete(doomed, p.ID)
					rep.PacksRescued++
					break
				}
			}
		}
	}

	// Index first, so no index names a deleted pack; then packs; then marks.
	dropped := maps.Clone(doomed)
	maps.Copy(dropped, gone)
	if err := r.compactIndex(ctx, st, dropped); err != nil {
		return err
	}
	var keys []string
	for id := range doomed {
		if o, ok := st.packs[id]; ok {
			keys = append(keys, o.Key)
			rep.PacksDeleted++
			rep.BytesDeleted += o.Size
			delete(st.packs, id)
		}
	}
	if err := r.deleteAll(ctx, keys); err != nil {
		return err
	}
	keys = keys[:0]
	for _, m := range swept {
		keys = append(keys, m.Key)
	}
	rep.MarksSwept = len(swept)
	st.marks = slices.DeleteFunc(st.marks, func(m stored[mark]) bool {
		return slices.ContainsFunc(swept, func(s stored[mark]) bool { return s.Key == m.Key })
	})
	return r.deleteAll(ctx, keys)
}

// missingPacks returns the indexed packs that are not stored, such as a
// damaged pack deleted by hand. Their data is gone: backups already store
// their chunks again, so the index stops naming them.
func (st *pruneState) missingPacks() map[ID]bool {
	gone := map[ID]bool{}
	for _, o := range st.index {
		for _, p := range o.Packs {
			if _, ok := st.packs[p.ID]; !ok {
				gone[p.ID] = true
			}
		}
	}
	return gone
}

// maxIndexObjects is how many index objects may pile up before a prune
// merges them even when it deletes nothing.
const maxIndexObjects = 32

// compactIndex replaces the index objects read by this prune with new ones
// that leave out the doomed packs. Index objects written since by running
// backups are untouched.
func (r *Repository) compactIndex(ctx context.Context, st *pruneState, doomed map[ID]bool) error {
	if len(doomed) == 0 && len(st.index) <= maxIndexObjects {
		return nil
	}
	var keep []indexPack
	var old []string
	seen := map[ID]bool{}
	for _, o := range st.index {
		old = append(old, o.Key)
		for _, p := range o.Packs {
			if !doomed[p.ID] && !seen[p.ID] {
				seen[p.ID] = true
				keep = append(keep, p)
			}
		}
	}
	if err := r.writeIndex(ctx, keep); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	if err := r.deleteAll(ctx, old); err != nil {
		return err
	}
	st.index = []indexObject{{Packs: keep}}
	return nil
}
