package repository

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"

	"golang.org/x/sync/errgroup"
)

// writeData reads every needed pack once, in parallel. What cannot be read
// fails only the files that need it, not the restore: a pack that cannot be
// opened fails the files it holds chunks of, a damaged chunk the files that
// use that chunk.
func (rs *restore) writeData(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(rs.opts.Workers)
	for id, targets := range rs.packs {
		g.Go(func() error {
			rs.writePack(ctx, rs.sizes[id], targets)
			return ctx.Err()
		})
	}
	return g.Wait()
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

func (rs *restore) writePack(ctx context.Context, p indexPack, targets []chunkTarget) {
	aead, err := rs.r.packAEAD(ctx, p)
	if err != nil {
		rs.failTargets(ctx, targets, err)
		return
	}
	slices.SortFunc(targets, func(a, b chunkTarget) int {
		return cmp.Compare(a.blob.Offset, b.blob.Offset)
	})
	start := int64(targets[0].blob.Offset)
	last := targets[len(targets)-1].blob
	rd, err := rs.r.bucket.NewRangeReader(ctx, packKey(p.ID), start,
		int64(last.Offset)+int64(last.Length)-start, nil)
	if err != nil {
		rs.failTargets(ctx, targets, fmt.Errorf("read pack %s: %w", p.ID.Short(), notFound(err)))
		return
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
				return
			}
		}
		sealed = slices.Grow(sealed[:0], int(b.Length))[:b.Length]
		if _, err := io.ReadFull(rd, sealed); err != nil {
			rs.failTargets(ctx, targets[i:], fmt.Errorf("read pack %s: %w", p.ID.Short(), err))
			return
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
