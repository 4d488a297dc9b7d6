package repository

import (
	"context"
	"crypto/cipher"
	"fmt"
	"sync"
)

// decodeBlob authenticates, decrypts and decompresses one stored blob, then
// checks that the plaintext hashes to the blob's id.
func (r *Repository) decodeBlob(aead cipher.AEAD, b Blob, sealed, dst []byte) ([]byte, error) {
	plain, err := open(aead, dst[:0], sealed, b.ID[:])
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", b.ID, err)
	}
	if b.Compressed {
		if plain, err = zstdDec.DecodeAll(plain, make([]byte, 0, b.RawLength)); err != nil {
			return nil, fmt.Errorf("blob %s: %w: decompress: %w", b.ID, ErrCorrupt, err)
		}
	}
	if len(plain) != int(b.RawLength) {
		return nil, fmt.Errorf("blob %s: %w: %d bytes, index says %d", b.ID, ErrCorrupt,
			len(plain), b.RawLength)
	}
	if got := r.blobID(plain); got != b.ID {
		return nil, fmt.Errorf("blob %s: %w: content hashes to %s", b.ID, ErrCorrupt, got)
	}
	return plain, nil
}

// packKeys caches unwrapped pack keys, since unwrapping costs an X25519
// operation and a read of the pack's end.
type packKeys struct {
	mu   sync.Mutex
	keys map[ID]cipher.AEAD
}

const maxCachedPackKeys = 4096

func (c *packKeys) get(id ID) (cipher.AEAD, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.keys[id]
	return a, ok
}

func (c *packKeys) put(id ID, a cipher.AEAD) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil || len(c.keys) >= maxCachedPackKeys {
		c.keys = map[ID]cipher.AEAD{}
	}
	c.keys[id] = a
}

// packAEAD returns the data cipher of a pack, reading its end when needed.
func (r *Repository) packAEAD(ctx context.Context, p indexPack) (cipher.AEAD, error) {
	if a, ok := r.keyCache.get(p.ID); ok {
		return a, nil
	}
	if err := r.needRead(); err != nil {
		return nil, err
	}
	tail, err := r.readPackTail(ctx, p.ID, p.Size)
	if err != nil {
		return nil, err
	}
	a, err := r.unwrapPackKey(p.ID, tail.wrapped)
	if err != nil {
		return nil, err
	}
	r.keyCache.put(p.ID, a)
	return a, nil
}

// loadBlob reads one blob by id through the index.
func (r *Repository) loadBlob(ctx context.Context, ix *Index, id ID) ([]byte, error) {
	p, b, ok := ix.Lookup(id)
	if !ok {
		return nil, fmt.Errorf("blob %s: %w in the index", id, ErrNotFound)
	}
	aead, err := r.packAEAD(ctx, p)
	if err != nil {
		return nil, err
	}
	sealed, err := r.readRange(ctx, packKey(p.ID), int64(b.Offset), int64(b.Length))
	if err != nil {
		return nil, err
	}
	plain, err := r.decodeBlob(aead, b, sealed, nil)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", p.ID, err)
	}
	return plain, nil
}
