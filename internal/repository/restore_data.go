package repository

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"gocloud.dev/gcerrors"
	"golang.org/x/sync/errgroup"
)

// writeData reads every needed pack once, in parallel. What cannot be read
// fails only the files that need it, not the restore: a pack that cannot be
// opened fails the files it holds chunks of, a damaged chunk the files that
// use that chunk. A pack that is gone is looked for once more: a prune
// running meanwhile deletes a condemned pack, which the restore may have
// chosen when every pack holding a chunk was condemned, once it has found
// the chunk in another pack that it keeps.
func (rs *restore) writeData(ctx context.Context) error {
	gone := rs.writePacks(ctx, rs.packs)
	if len(gone) == 0 || ctx.Err() != nil {
		return ctx.Err()
	}
	moved := rs.relocate(ctx, gone)
	for id, targets := range rs.writePacks(ctx, moved) {
		rs.failTargets(ctx, targets, fmt.Errorf("read pack %s: %w", id.Short(), ErrNotFound))
	}
	return ctx.Err()
}

// writePacks writes the chunks of packs and returns, by pack, the targets
// of the packs that were not found.
func (rs *restore) writePacks(ctx context.Context,
	packs map[ID][]chunkTarget) map[ID][]chunkTarget {
	var mu sync.Mutex
	gone := map[ID][]chunkTarget{}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(rs.opts.Workers)
	for id, targets := range packs {
		g.Go(func() error {
			if !rs.writePack(ctx, rs.sizes[id], targets) {
				mu.Lock()
				gone[id] = targets
				mu.Unlock()
			}
			return ctx.Err()
		})
	}
	_ = g.Wait() // the caller reads the end of its own ctx
	return gone
}

// relocate finds the chunks of packs that were gone in an index read anew,
// and returns them by the pack that holds them now. A chunk that is in no
// other pack fails its file.
func (rs *restore) relocate(ctx context.Context, gone map[ID][]chunkTarget) map[ID][]chunkTarget {
	ix, err := rs.r.readerIndex(ctx)
	if err != nil {
		for _, targets := range gone {
			rs.failTargets(ctx, targets, err)
		}
		return nil
	}
	moved := map[ID][]chunkTarget{}
	for id, targets := range gone {
		for _, t := range targets {
			p, b, ok := ix.Lookup(t.blob.ID)
			if !ok || p.ID == id {
				rs.failTargets(ctx, []chunkTarget{t},
					fmt.Errorf("read pack %s: %w", id.Short(), ErrNotFound))
				continue
			}
			rs.sizes[p.ID] = p
			moved[p.ID] = append(moved[p.ID], chunkTarget{blob: b, file: t.file, offset: t.offset})
		}
	}
	return moved
}

// failTargets fails the files of targets, unless the restore was cancelled.
func (rs *restore) failTargets(ctx context.Context, targets []chunkTarget, err error) {
	if ctx.Err() != nil {
		return
	}
	for _, t := range targets {
		rs.fail(rs.files[t.file], "read", err)
	}
}

// writePack writes the chunks of targets from pack p. It reports false,
// failing nothing, when the pack is not found.
func (rs *restore) writePack(ctx context.Context, p indexPack, targets []chunkTarget) bool {
	aead, err := rs.r.packAEAD(ctx, p)
	if errors.Is(err, ErrNotFound) {
		return false
	}
	if err != nil {
		rs.failTargets(ctx, targets, err)
		return true
	}
	slices.SortFunc(targets, func(a, b chunkTarget) int {
		return cmp.Compare(a.blob.Offset, b.blob.Offset)
	})
	start := int64(targets[0].blob.Offset)
	last := targets[len(targets)-1].blob
	rd, err := rs.r.bucket.NewRangeReader(ctx, packKey(p.ID), start,
		int64(last.Offset)+int64(last.Length)-start, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return false
	}
	if err != nil {
		rs.failTargets(ctx, targets, fmt.Errorf("read pack %s: %w", p.ID.Short(), err))
		return true
	}
	defer rd.Close()

	pos := start
	var sealed, plain []byte
	for i := 0; i < len(targets); {
		b := targets[i].blob
		end := i + 1
		for end < len(targets) && targets[end].blob.ID == b.ID {
			end++
		}
		if gap := int64(b.Offset) - pos; gap > 0 {
			if _, err := io.CopyN(io.Discard, rd, gap); err != nil {
				rs.failTargets(ctx, targets[i:], fmt.Errorf("read pack %s: %w", p.ID.Short(), err))
				return true
			}
		}
		sealed = slices.Grow(sealed[:0], int(b.Length))[:b.Length]
		if _, err := io.ReadFull(rd, sealed); err != nil {
			rs.failTargets(ctx, targets[i:], fmt.Errorf("read pack %s: %w", p.ID.Short(), err))
			return true
		}
		pos = int64(b.Offset) + int64(b.Length)
		if plain, err = rs.r.decodeBlob(aead, b, sealed, plain); err != nil {
			rs.failTargets(ctx, targets[i:end], fmt.Errorf("pack %s: %w", p.ID.Short(), err))
			i = end
			continue
		}
		for ; i < end; i++ {
			if err := rs.writeAt(targets[i], plain); err != nil {
				rs.fail(rs.files[targets[i].file], "write", err)
			}
		}
	}
	return true
}

func (rs *restore) writeAt(t chunkTarget, data []byte) error {
	f, err := os.OpenFile(rs.files[t.file], os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(data, t.offset)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if p := rs.opts.Progress; p != nil {
		p.Bytes.Add(int64(len(data)))
	}
	return err
}
