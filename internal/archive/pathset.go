package archive

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

const (
	// defaultSetBits sizes the Bloom filter: 2^25 bits, 4 MiB. With seven
	// probes it wrongly answers "maybe seen" for about one path in a
	// hundred thousand at a million objects, and each such answer costs one
	// read of the fingerprint file (16 bytes per object).
	defaultSetBits = 25
	setProbes      = 7
	fingerprintLen = 16
)

// pathSet remembers which paths a writer has stored, in memory that does
// not grow with their number. A Bloom filter answers "new" for almost every
// path; its rare "maybe seen" is settled by scanning the fingerprints of all
// earlier paths, spooled to a file. A fingerprint is 128 bits of the path's
// SHA-256, so two paths are taken for one only with negligible odds.
//
// The scan makes the set slow once the filter fills up: past several
// million objects most lookups scan the file. A larger filter, or an
// on-disk hash table instead of the flat file, would fix that.
type pathSet struct {
	bits  []uint64
	mask  uint64
	file  *os.File
	buf   *bufio.Writer
	count int64
}

// newPathSet spools fingerprints to file, which must be empty, and uses a
// filter of 2^logBits bits.
func newPathSet(file *os.File, logBits uint) *pathSet {
	n := uint64(1) << logBits
	return &pathSet{
		bits: make([]uint64, (n+63)/64),
		mask: n - 1,
		file: file,
		buf:  bufio.NewWriter(file),
	}
}

// add records p and reports whether it was already there.
func (s *pathSet) add(p string) (bool, error) {
	sum := sha256.Sum256([]byte(p))
	h1 := binary.LittleEndian.Uint64(sum[16:24])
	h2 := binary.LittleEndian.Uint64(sum[24:32]) | 1

	maybe := true
	for i := range uint64(setProbes) {
		bit := (h1 + i*h2) & s.mask
		if s.bits[bit/64]&(1<<(bit%64)) == 0 {
			maybe = false
			break
		}
	}
	if maybe {
		seen, err := s.scan(sum[:fingerprintLen])
		if err != nil || seen {
			return seen, err
		}
	}

	for i := range uint64(setProbes) {
		bit := (h1 + i*h2) & s.mask
		s.bits[bit/64] |= 1 << (bit % 64)
	}
	if _, err := s.buf.Write(sum[:fingerprintLen]); err != nil {
		return false, fmt.Errorf("spool path fingerprint: %w", err)
	}
	s.count++
	return false, nil
}

// scan looks for fp among the spooled fingerprints.
func (s *pathSet) scan(fp []byte) (bool, error) {
	if err := s.buf.Flush(); err != nil {
		return false, fmt.Errorf("spool path fingerprint: %w", err)
	}
	r := bufio.NewReaderSize(io.NewSectionReader(s.file, 0, s.count*fingerprintLen), 64<<10)
	rec := make([]byte, fingerprintLen)
	for range s.count {
		if _, err := io.ReadFull(r, rec); err != nil {
			return false, fmt.Errorf("read path fingerprints: %w", err)
		}
		if bytes.Equal(rec, fp) {
			return true, nil
		}
	}
	return false, nil
}
