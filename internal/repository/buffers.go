package repository

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// packBuffers lends pack-sized buffers mapped outside the Go heap. Packs are
// a backup's largest and longest-lived allocations; in the heap they would
// count towards the collector's goal, which lets the heap grow to twice its
// live size, so five 16 MiB packs in flight would cost 160 MiB of RSS.
//
// Buffers are never unmapped, so a slice kept past its return can never
// fault: trim hands the pages of free buffers back to the kernel, and reading
// them afterwards sees zeros.
var packBuffers = &bufferPool{free: map[int][][]byte{}, mapped: map[*byte]int{}}

type bufferPool struct {
	mu     sync.Mutex
	free   map[int][][]byte // by capacity
	mapped map[*byte]int    // every buffer the pool made, by its first byte
}

// get returns an empty buffer of capacity size.
func (p *bufferPool) get(size int) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.free[size]; len(l) > 0 {
		b := l[len(l)-1]
		p.free[size] = l[:len(l)-1]
		return b[:0]
	}
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return make([]byte, 0, size) // no mapping: the heap still works
	}
	p.mapped[unsafe.SliceData(b)] = size
	return b[:0]
}

// put takes back a buffer that get returned; any other slice is left to the
// collector.
func (p *bufferPool) put(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	size, ok := p.mapped[unsafe.SliceData(b)]
	if !ok {
		return
	}
	p.free[size] = append(p.free[size], b[:size])
}

// trim returns the memory of every free buffer to the kernel; the buffers
// stay mapped and are filled again on their next use.
func (p *bufferPool) trim() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.free {
		for _, b := range l {
			_ = unix.Madvise(b, unix.MADV_DONTNEED)
		}
	}
}
