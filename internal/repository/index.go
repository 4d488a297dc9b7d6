package repository

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// indexPack lists the blobs of one pack, as an index object records them.
type indexPack struct {
	ID    ID
	Size  int64
	Blobs []Blob
}

// indexObject is one stored index object and the packs it lists.
type indexObject struct {
	Key   string
	Packs []indexPack
}

// maxIndexBlobs bounds one index object, so that loading and rewriting stay
// incremental even for repositories with millions of blobs.
const maxIndexBlobs = 200_000

var (
	// Index entries are mostly random ids, so a small window loses little
	// and keeps the encoder's history at about 2 MiB instead of 16.
	zstdEnc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20),
		zstd.WithLowerEncoderMem(true))
	zstdDec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderMaxMemory(1<<30))
)

func encodeIndex(packs []indexPack) []byte {
	out := []byte{headerVersion}
	out = binary.LittleEndian.AppendUint32(out, uint32(len(packs)))
	for _, p := range packs {
		out = append(out, p.ID[:]...)
		out = binary.LittleEndian.AppendUint64(out, uint64(p.Size))
		out = binary.LittleEndian.AppendUint32(out, uint32(len(p.Blobs)))
		for _, b := range p.Blobs {
			out = appendEntry(out, b)
		}
	}
	return zstdEnc.EncodeAll(out, nil)
}

func decodeIndex(data []byte) ([]indexPack, error) {
	raw, err := zstdDec.DecodeAll(data, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: index compression: %w", ErrCorrupt, err)
	}
	bad := fmt.Errorf("%w: index is truncated", ErrCorrupt)
	if len(raw) < 5 || raw[0] != headerVersion {
		return nil, bad
	}
	n := int(binary.LittleEndian.Uint32(raw[1:5]))
	raw = raw[5:]
	packs := make([]indexPack, 0, n)
	for range n {
		if len(raw) < 44 {
			return nil, bad
		}
		var p indexPack
		copy(p.ID[:], raw[:32])
		p.Size = int64(binary.LittleEndian.Uint64(raw[32:40]))
		m := int(binary.LittleEndian.Uint32(raw[40:44]))
		raw = raw[44:]
		if len(raw) < m*entrySize {
			return nil, bad
		}
		hdr := binary.LittleEndian.AppendUint32([]byte{headerVersion}, uint32(m))
		if p.Blobs, err = decodeEntries(append(hdr, raw[:m*entrySize]...)); err != nil {
			return nil, err
		}
		raw = raw[m*entrySize:]
		packs = append(packs, p)
	}
	return packs, nil
}

// writeIndex stores the packs in as many new index objects as needed.
func (r *Repository) writeIndex(ctx context.Context, packs []indexPack) error {
	for len(packs) > 0 {
		n, blobs := 0, 0
		for n < len(packs) && (n == 0 || blobs+len(packs[n].Blobs) <= maxIndexBlobs) {
			blobs += len(packs[n].Blobs)
			n++
		}
		key := dirIndex + randomID().String()
		data := seal(r.meta, nil, encodeIndex(packs[:n]), []byte(key))
		if err := put(ctx, r.bucket, key, data); err != nil {
			return err
		}
		packs = packs[n:]
	}
	return nil
}

// loadIndexObjects reads every index object. An object that disappears while
// listing (a prune replaced it) makes it list again.
func (r *Repository) loadIndexObjects(ctx context.Context) ([]indexObject, error) {
	for attempt := 0; ; attempt++ {
		objs, err := r.tryLoadIndexObjects(ctx)
		if err == nil || !errors.Is(err, ErrNotFound) || attempt == 2 {
			return objs, err
		}
	}
}

func (r *Repository) tryLoadIndexObjects(ctx context.Context) ([]indexObject, error) {
	list, err := listObjects(ctx, r.bucket, dirIndex)
	if err != nil {
		return nil, fmt.Errorf("list index: %w", err)
	}
	out := make([]indexObject, len(list))
	for i, o := range list {
		data, err := r.bucket.ReadAll(ctx, o.Key)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", o.Key, notFound(err))
		}
		plain, err := open(r.meta, nil, data, []byte(o.Key))
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", o.Name, err)
		}
		packs, err := decodeIndex(plain)
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", o.Name, err)
		}
		out[i] = indexObject{Key: o.Key, Packs: packs}
	}
	return out, nil
}

// blobPlace is a compact in-memory Blob.
type blobPlace struct {
	pack   uint32
	offset uint32
	length uint32
	raw    uint32
	typ    BlobType
	comp   bool
}

// Index maps blob ids to their place in packs.
type Index struct {
	mu      sync.RWMutex
	packs   []indexPack // Blobs is dropped after adding, to save memory
	packNum map[ID]uint32
	blobs   map[ID]blobPlace
}

func newIndex() *Index {
	return &Index{packNum: map[ID]uint32{}, blobs: map[ID]blobPlace{}}
}

// buildIndex makes an Index of the packs in objs, leaving out the packs in skip.
func buildIndex(objs []indexObject, skip map[ID]bool) *Index {
	ix := newIndex()
	for _, o := range objs {
		for _, p := range o.Packs {
			if !skip[p.ID] {
				ix.add(p)
			}
		}
	}
	return ix
}

// add records a pack's blobs; a blob already known keeps its first place.
func (ix *Index) add(p indexPack) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if _, ok := ix.packNum[p.ID]; ok {
		return
	}
	n := uint32(len(ix.packs))
	ix.packs = append(ix.packs, indexPack{ID: p.ID, Size: p.Size})
	ix.packNum[p.ID] = n
	for _, b := range p.Blobs {
		if _, ok := ix.blobs[b.ID]; ok {
			continue
		}
		ix.blobs[b.ID] = blobPlace{pack: n, offset: b.Offset, length: b.Length,
			raw: b.RawLength, typ: b.Type, comp: b.Compressed}
	}
}

// Has reports whether the blob is stored.
func (ix *Index) Has(id ID) bool {
	ix.mu.RLock()
	_, ok := ix.blobs[id]
	ix.mu.RUnlock()
	return ok
}

// Lookup returns where a blob is stored: its pack and size, and the entry.
func (ix *Index) Lookup(id ID) (indexPack, Blob, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	l, ok := ix.blobs[id]
	if !ok {
		return indexPack{}, Blob{}, false
	}
	return ix.packs[l.pack], Blob{Type: l.typ, Compressed: l.comp, ID: id,
		Offset: l.offset, Length: l.length, RawLength: l.raw}, true
}

// Len returns the number of distinct blobs.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.blobs)
}
