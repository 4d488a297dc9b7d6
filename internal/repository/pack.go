package repository

import (
	"bytes"
	"context"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
	"github.com/zeebo/blake3"
)

// BlobType says what a blob holds.
type BlobType uint8

const (
	// DataBlob is a chunk of file content.
	DataBlob BlobType = 1
	// TreeBlob is an encoded directory listing.
	TreeBlob BlobType = 2
)

func (t BlobType) String() string {
	switch t {
	case DataBlob:
		return "data"
	case TreeBlob:
		return "tree"
	}
	return fmt.Sprintf("blobtype(%d)", uint8(t))
}

const (
	packMagic      = "CAIRNPK1"
	trailerSize    = 4 + 4 + len(packMagic)
	entrySize      = 1 + 1 + 32 + 4 + 4 + 4
	headerVersion  = 1
	flagCompressed = 1
	headerAD       = "cairn pack header"
)

// Blob locates one blob inside a pack. Length is the stored size (nonce,
// ciphertext and tag); RawLength the size of the plaintext.
type Blob struct {
	Type       BlobType
	Compressed bool
	ID         ID
	Offset     uint32
	Length     uint32
	RawLength  uint32
}

// packer collects sealed blobs for one pack. Every pack has its own random
// data key, wrapped to the repository's age recipient in the trailer, so a
// writer cannot use what it knows to open any other pack.
type packer struct {
	typ   BlobType
	key   []byte
	aead  cipher.AEAD
	buf   []byte
	start []byte // buf as given, to return to packBuffers
	blobs []Blob
}

func newPacker(typ BlobType, buf []byte) *packer {
	key := newKey()
	aead, _ := newAEAD(key) // a fresh 32-byte key is always valid
	return &packer{typ: typ, key: key, aead: aead, buf: buf[:0], start: buf}
}

// add seals stored (the possibly compressed plaintext) into the pack.
func (p *packer) add(id ID, stored []byte, rawLen int, compressed bool) {
	off := len(p.buf)
	p.buf = seal(p.aead, p.buf, stored, id[:])
	p.blobs = append(p.blobs, Blob{
		Type: p.typ, Compressed: compressed, ID: id,
		Offset: uint32(off), Length: uint32(len(p.buf) - off), RawLength: uint32(rawLen),
	})
}

// fits reports whether a blob of n stored bytes, with the header entries of
// every blob, fits a pack of packSize; an empty pack takes any blob.
func (p *packer) fits(n, packSize int) bool {
	header := 1 + 4 + (len(p.blobs)+1)*entrySize
	return len(p.blobs) == 0 || len(p.buf)+n+sealOverhead+header <= packSize
}

// finish appends header, wrapped key and trailer and returns the pack's id
// and bytes.
func (p *packer) finish(meta cipher.AEAD, to age.Recipient) (ID, []byte, error) {
	hdrStart := len(p.buf)
	p.buf = seal(meta, p.buf, encodeEntries(p.blobs), []byte(headerAD))
	hdrLen := len(p.buf) - hdrStart

	wrapped, err := ageEncrypt(p.key, to)
	if err != nil {
		return ID{}, nil, fmt.Errorf("wrap pack key: %w", err)
	}
	p.buf = append(p.buf, wrapped...)
	p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(hdrLen))
	p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(len(wrapped)))
	p.buf = append(p.buf, packMagic...)
	return ID(blake3.Sum256(p.buf)), p.buf, nil
}

// encodeEntries lays blob entries out in the fixed-size binary form used by
// pack headers and index objects.
func encodeEntries(blobs []Blob) []byte {
	out := make([]byte, 0, 1+4+len(blobs)*entrySize)
	out = append(out, headerVersion)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(blobs)))
	for _, b := range blobs {
		out = appendEntry(out, b)
	}
	return out
}

func appendEntry(out []byte, b Blob) []byte {
	var flags byte
	if b.Compressed {
		flags |= flagCompressed
	}
	out = append(out, byte(b.Type), flags)
	out = append(out, b.ID[:]...)
	out = binary.LittleEndian.AppendUint32(out, b.Offset)
	out = binary.LittleEndian.AppendUint32(out, b.Length)
	return binary.LittleEndian.AppendUint32(out, b.RawLength)
}

func decodeEntries(data []byte) ([]Blob, error) {
	if len(data) < 5 || data[0] != headerVersion {
		return nil, fmt.Errorf("%w: bad entry list header", ErrCorrupt)
	}
	n := int(binary.LittleEndian.Uint32(data[1:5]))
	data = data[5:]
	if len(data) != n*entrySize {
		return nil, fmt.Errorf("%w: entry list has %d bytes for %d entries", ErrCorrupt, len(data), n)
	}
	out := make([]Blob, n)
	for i := range out {
		e := data[i*entrySize : (i+1)*entrySize]
		b := &out[i]
		b.Type, b.Compressed = BlobType(e[0]), e[1]&flagCompressed != 0
		copy(b.ID[:], e[2:34])
		b.Offset = binary.LittleEndian.Uint32(e[34:38])
		b.Length = binary.LittleEndian.Uint32(e[38:42])
		b.RawLength = binary.LittleEndian.Uint32(e[42:46])
	}
	return out, nil
}

// packTail is the parsed end of a pack: its blob list and wrapped data key.
type packTail struct {
	blobs   []Blob
	wrapped []byte
}

// maxTailRead is how much of a pack's end is fetched at once; most headers
// fit, and larger ones are fetched with a second request.
const maxTailRead = 64 << 10

// readPackTail fetches and authenticates the header of the pack with the
// given id and size.
func (r *Repository) readPackTail(ctx context.Context, id ID, size int64) (*packTail, error) {
	n := min(size, maxTailRead)
	tail, err := r.readRange(ctx, packKey(id), size-n, n)
	if err != nil {
		return nil, err
	}
	hdrLen, keyLen, err := parseTrailer(tail, size)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", id, err)
	}
	need := int64(hdrLen + keyLen + trailerSize)
	if need > int64(len(tail)) {
		if tail, err = r.readRange(ctx, packKey(id), size-need, need); err != nil {
			return nil, err
		}
	}
	return parseTail(tail[len(tail)-int(need):], hdrLen, keyLen, r.meta, id)
}

func parseTrailer(tail []byte, size int64) (int, int, error) {
	if len(tail) < trailerSize || string(tail[len(tail)-len(packMagic):]) != packMagic {
		return 0, 0, fmt.Errorf("%w: no pack trailer", ErrCorrupt)
	}
	t := tail[len(tail)-trailerSize:]
	hdrLen := int(binary.LittleEndian.Uint32(t[0:4]))
	keyLen := int(binary.LittleEndian.Uint32(t[4:8]))
	if int64(hdrLen+keyLen+trailerSize) > size {
		return 0, 0, fmt.Errorf("%w: pack trailer claims %d header bytes in %d", ErrCorrupt,
			hdrLen+keyLen, size)
	}
	return hdrLen, keyLen, nil
}

// parseTail decodes header and key from the last hdrLen+keyLen+trailer bytes.
func parseTail(tail []byte, hdrLen, keyLen int, meta cipher.AEAD, id ID) (*packTail, error) {
	plain, err := open(meta, nil, tail[:hdrLen], []byte(headerAD))
	if err != nil {
		return nil, fmt.Errorf("pack %s header: %w", id, err)
	}
	blobs, err := decodeEntries(plain)
	if err != nil {
		return nil, fmt.Errorf("pack %s header: %w", id, err)
	}
	return &packTail{blobs: blobs, wrapped: bytes.Clone(tail[hdrLen : hdrLen+keyLen])}, nil
}

// parsePack splits a whole pack into its tail; used by check --read-data.
func (r *Repository) parsePack(id ID, data []byte) (*packTail, error) {
	hdrLen, keyLen, err := parseTrailer(data, int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", id, err)
	}
	need := hdrLen + keyLen + trailerSize
	return parseTail(data[len(data)-need:], hdrLen, keyLen, r.meta, id)
}

// unwrapPackKey opens a pack's data key with the reading identities.
func (r *Repository) unwrapPackKey(id ID, wrapped []byte) (cipher.AEAD, error) {
	if err := r.needRead(); err != nil {
		return nil, err
	}
	key, err := ageDecrypt(wrapped, r.readers...)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return nil, fmt.Errorf("pack %s key: %w", id, err)
		}
		return nil, fmt.Errorf("pack %s key: %w: %w", id, ErrCorrupt, err)
	}
	return newAEAD(key)
}

func (r *Repository) readRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	rd, err := r.bucket.NewRangeReader(ctx, key, off, n, nil)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, notFound(err))
	}
	defer rd.Close()
	buf := make([]byte, n)
	if _, err := io.ReadFull(rd, buf); err != nil {
		return nil, fmt.Errorf("read %s at %d: %w", key, off, err)
	}
	return buf, nil
}
