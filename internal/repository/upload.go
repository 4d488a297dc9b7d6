package repository

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sync/errgroup"
)

// finishedPack is a sealed pack waiting for upload. buf is the buffer the
// pack was started in, which data outgrows only for a blob larger than a pack.
type finishedPack struct {
	id    ID
	data  []byte
	buf   []byte
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

	mu      sync.Mutex
	pending []indexPack
	lent    map[*byte][]byte // pack buffers handed out and not yet returned

	// indexed, when set, is told of every pack once its blobs are in ix.
	indexed func(indexPack)

	packs, stored atomic.Int64
}

const uploadWorkers = 2

func newUploader(r *Repository, ix *Index, flushEvery int) *uploader {
	if flushEvery <= 0 {
		flushEvery = 16
	}
	return &uploader{r: r, ix: ix, queue: make(chan finishedPack, 1), flushEvery: flushEvery,
		lent: map[*byte][]byte{}}
}

// buffer returns a pack buffer; whole packs live in memory until stored,
// since a pack is named by the hash of its bytes. Blobs are added only while
// they and their header entries fit (see fits); the extra room holds the
// header's seal, the wrapped key and the trailer.
func (u *uploader) buffer() []byte {
	b := packBuffers.get(u.r.cfg.PackSize + 4096)
	u.mu.Lock()
	u.lent[unsafe.SliceData(b)] = b
	u.mu.Unlock()
	return b
}

// giveBack returns a stored pack's buffer for the next pack.
func (u *uploader) giveBack(b []byte) {
	u.mu.Lock()
	delete(u.lent, unsafe.SliceData(b))
	u.mu.Unlock()
	packBuffers.put(b)
}

// giveBackAll returns every buffer still lent, such as the packs of a failed
// backup that were never sent, once no goroutine can use them.
func (u *uploader) giveBackAll() {
	u.mu.Lock()
	lent := u.lent
	u.lent = map[*byte][]byte{}
	u.mu.Unlock()
	for _, b := range lent {
		packBuffers.put(b)
	}
	packBuffers.trim()
}

// send seals the pack and queues it; it blocks while uploads are behind.
func (u *uploader) send(ctx context.Context, p *packer) error {
	id, data, err := p.finish(u.r.meta, u.r.dataTo)
	if err != nil {
		return err
	}
	select {
	case u.queue <- finishedPack{id: id, data: data, buf: p.start, blobs: p.blobs}:
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
	if u.indexed != nil {
		u.indexed(p)
	}
	u.packs.Add(1)
	u.stored.Add(int64(len(fp.data)))
	if h := u.r.hooks.packStored; h != nil {
		h()
	}
	u.giveBack(fp.buf)

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

// finish runs once nothing sends or uploads any more: it takes back every
// pack buffer and writes the index of packs stored since the last index
// object. It writes even when ctx is cancelled, so an interrupted backup's
// packs stay usable.
func (u *uploader) finish(ctx context.Context) error {
	u.giveBackAll()
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
