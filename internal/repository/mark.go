package repository

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// markUnused condemns packs that hold no used blob, repacks packs whose
// unused share exceeds MaxUnused and condemns them too, and condemns packs
// that no index lists (left by interrupted backups).
func (r *Repository) markUnused(ctx context.Context, st *pruneState, rep *PruneReport) error {
	condemned := map[ID]bool{}
	for _, m := range st.marks {
		for _, p := range m.Value.Packs {
			condemned[p] = true
		}
	}

	// Each used blob is kept in the first pack that has it and is not
	// condemned; its copies elsewhere count as unused.
	home := map[ID]ID{}
	indexed := map[ID]bool{}
	for _, o := range st.index {
		for _, p := range o.Packs {
			indexed[p.ID] = true
			if condemned[p.ID] {
				continue
			}
			for _, b := range p.Blobs {
				if _, ok := home[b.ID]; !ok && st.used[b.ID] {
					home[b.ID] = p.ID
				}
			}
		}
	}

	var doomed []ID
	var repack []indexPack
	for _, o := range st.index {
		for _, p := range o.Packs {
			if condemned[p.ID] {
				continue
			}
			var usedBytes, total int64
			for _, b := range p.Blobs {
				total += int64(b.Length)
				if home[b.ID] == p.ID {
					usedBytes += int64(b.Length)
				}
			}
			switch {
			case usedBytes == 0:
				doomed = append(doomed, p.ID)
			case float64(total-usedBytes) > st.opts.MaxUnused*float64(total):
				repack = append(repack, p)
				doomed = append(doomed, p.ID)
			}
			condemned[p.ID] = true
		}
	}
	for id := range st.packs {
		if !indexed[id] && !condemned[id] {
			doomed = append(doomed, id)
		}
	}

	if err := r.repack(ctx, repack, home, rep); err != nil {
		return err
	}
	if len(doomed) == 0 {
		return nil
	}
	for _, id := range doomed {
		rep.BytesCondemned += st.packs[id].Size
	}
	rep.PacksCondemned = len(doomed)
	m := mark{ID: randomID(), Created: r.clock().UTC(), Packs: doomed}
	return r.putSealed(ctx, dirMarks+m.ID.String(), m)
}

// repack copies the used blobs of the given packs into new packs and indexes
// them, before the old packs are condemned.
func (r *Repository) repack(ctx context.Context, packs []indexPack, home map[ID]ID,
	rep *PruneReport) error {
	if len(packs) == 0 {
		return nil
	}
	ix := newIndex()
	up := newUploader(r, ix, 16)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return up.run(gctx) })
	g.Go(func() error {
		defer close(up.queue)
		w := &worker{b: &backup{r: r, up: up}}
		w.enc = zstdEnc
		packers := map[BlobType]*packer{}
		for _, p := range packs {
			n, err := r.repackOne(gctx, p, home, w, packers)
			if err != nil {
				return err
			}
			rep.PacksRepacked++
			rep.BlobsRepacked += n
		}
		for _, pk := range packers {
			if err := up.send(gctx, pk); err != nil {
				return err
			}
		}
		return nil
	})
	err := g.Wait()
	if ferr := up.finish(ctx); err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("repack: %w", err)
	}
	return nil
}

func (r *Repository) repackOne(ctx context.Context, p indexPack, home map[ID]ID, w *worker,
	packers map[BlobType]*packer) (int, error) {
	data, err := r.bucket.ReadAll(ctx, packKey(p.ID))
	if err != nil {
		return 0, fmt.Errorf("read pack %s: %w", p.ID.Short(), notFound(err))
	}
	tail, err := r.parsePack(p.ID, data)
	if err != nil {
		return 0, err
	}
	aead, err := r.unwrapPackKey(p.ID, tail.wrapped)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, b := range p.Blobs {
		if home[b.ID] != p.ID {
			continue
		}
		end := int(b.Offset) + int(b.Length)
		if end > len(data) {
			return 0, fmt.Errorf("pack %s: %w: blob %s beyond its end", p.ID.Short(), ErrCorrupt,
				b.ID.Short())
		}
		plain, err := r.decodeBlob(aead, b, data[b.Offset:end], nil)
		if err != nil {
			return 0, fmt.Errorf("pack %s: %w", p.ID.Short(), err)
		}
		stored, comp := w.compress(plain)
		pk := packers[b.Type]
		if pk != nil && !pk.fits(len(stored), r.cfg.PackSize) {
			delete(packers, b.Type)
			if err := w.b.up.send(ctx, pk); err != nil {
				return n, err
			}
			pk = nil
		}
		if pk == nil {
			pk = newPacker(b.Type, w.b.up.buffer())
			packers[b.Type] = pk
		}
		pk.add(b.ID, stored, len(plain), comp)
		n++
	}
	return n, nil
}
