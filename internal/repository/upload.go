package repository

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// finishedPack is a sealed pack waiting for upload.
type finishedPack struct {
	id    ID
	data  []byte
	blobs []Blob
}

// uploader stores finished packs with bounded concurrency, adds them to the
// in-memory index once stored, and writes index objects every flushEvery
// packs so that an interrupted backup leaves its uploaded packs indexed.
type uploader struct {
	r          *Repository
	ix         *Index
	queue      chan finishedPack
	flushEvery int
	bufs       sync.Pool

	mu      sync.Mutex
	pending []indexPack

	packs, stored atomic.Int64
}

const uploadWorkers = 2

func newUploader(r *Repository, ix *Index, flushEvery int) *uploader {
	if flushEvery <= 0 {
		flushEvery = 16
	}
	return &uploader{r: r, ix: ix, queue: make(chan finishedPack, 1), flushEvery: flushEvery}
}

// buffer returns a pack buffer; whole packs live in memory until stored,
// since a pack is named by the hash of its bytes. Blobs are added only while
// they fit (see fits), and the extra 1/64 holds the header.
func (u *uploader) buffer() []byte {
	if b, ok := u.bufs.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, u.r.cfg.PackSize+u.r.cfg.PackSize/64+4096)
}

// send seals the pack and queues it; it blocks while uploads are behind.
func (u *uploader) send(ctx context.Context, p *packer) error {
	id, data, err := p.finish(u.r.meta, u.r.dataTo)
	if err != nil {
		return err
	}
	select {
	case u.queue <- finishedPack{id: id, data: data, blobs: p.blobs}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run uploads queued packs until the queue is closed.
func (u *uploader) run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for range uploadWorkers {
		g.Go(func() error {
			for fp := range u.queue {
				if err := u.upload(ctx, fp); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err := g.Wait()
	for range u.queue { // drain after an error so senders never block
	}
	return err
}

func (u *uploader) upload(ctx context.Context, fp finishedPack) error {
	if err := put(ctx, u.r.bucket, packKey(fp.id), fp.data); err != nil {
		return fmt.Errorf("store pack %s: %w", fp.id.Short(), err)
	}
	p := indexPack{ID: fp.id, Size: int64(len(fp.data)), Blobs: fp.blobs}
	u.ix.add(p)
	u.packs.Add(1)
	u.stored.Add(int64(len(fp.data)))
	if h := u.r.hooks.packStored; h != nil {
		h()
	}
	data := fp.data
	u.bufs.Put(&data)

	u.mu.Lock()
	u.pending = append(u.pending, p)
	var flush []indexPack
	if len(u.pending) >= u.flushEvery {
		flush, u.pending = u.pending, nil
	}
	u.mu.Unlock()
	if flush != nil {
		return u.r.writeIndex(ctx, flush)
	}
	return nil
}

// flush writes the index of packs stored since the last flush. It runs even
// when ctx is cancelled, so an interrupted backup's packs stay usable.
func (u *uploader) flush(ctx context.Context) error {
	u.mu.Lock()
	pending := u.pending
	u.pending = nil
	u.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	return u.r.writeIndex(ctx, pending)
}
