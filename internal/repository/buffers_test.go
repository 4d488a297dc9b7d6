package repository

import (
	"bytes"
	"testing"
	"unsafe"

	"github.com/zeebo/blake3"
)

func TestBufferPoolReusesOnlyItsOwnBuffers(t *testing.T) {
	p := &bufferPool{free: map[int][][]byte{}, mapped: map[*byte]int{}}
	a := p.get(1 << 20)
	if len(a) != 0 || cap(a) != 1<<20 {
		t.Fatalf("get gave len %d cap %d, want 0 and %d", len(a), cap(a), 1<<20)
	}
	a = append(a, "pack bytes"...)
	p.put(a)
	p.put(make([]byte, 0, 1<<20)) // not the pool's: ignored

	b := p.get(1 << 20)
	if unsafe.SliceData(b) != unsafe.SliceData(a) {
		t.Error("a returned buffer was not reused")
	}
	if c := p.get(1 << 20); unsafe.SliceData(c) == unsafe.SliceData(a) {
		t.Error("one buffer was lent twice")
	}

	p.put(b)
	p.trim()
	kept := a[:10]
	if !bytes.Equal(kept, make([]byte, 10)) {
		t.Errorf("a trimmed buffer reads %q, want zeros", kept)
	}
}

// A pack of many tiny blobs must keep its header inside the buffer it was
// started in, so the buffer goes back to the pool instead of being copied
// into the heap.
func TestPackOfTinyBlobsStaysInItsBuffer(t *testing.T) {
	r, _ := newTestRepo(t, InitOptions{})
	size := r.cfg.PackSize + 4096
	buf := packBuffers.get(size)
	defer packBuffers.put(buf)

	p := newPacker(DataBlob, buf)
	blob := make([]byte, 16)
	for i := 0; ; i++ {
		blob[0], blob[1], blob[2] = byte(i), byte(i>>8), byte(i>>16)
		if !p.fits(len(blob), r.cfg.PackSize) {
			break
		}
		p.add(ID(blake3.Sum256(blob)), blob, len(blob), false)
	}
	_, data, err := p.finish(r.meta, r.dataTo)
	must(t, err)
	if unsafe.SliceData(data) != unsafe.SliceData(buf) {
		t.Errorf("a pack of %d blobs (%d bytes) outgrew its %d-byte buffer", len(p.blobs),
			len(data), cap(buf))
	}
}
