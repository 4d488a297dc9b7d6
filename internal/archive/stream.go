package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// maxWindow bounds the zstd window a reader accepts. The writer uses at
// most 8 MiB; the margin admits archives recompressed by the zstd tool at
// high levels, and the bound keeps a hostile frame from reserving gigabytes.
const maxWindow = 128 << 20

// stream walks the entries of an archive, zstd below tar, and turns
// failures of either layer into Defects.
type stream struct {
	src     *zstdSource
	tr      *tar.Reader
	version int
}

// zstdSource remembers the decoder's own errors, so that a failure seen by
// tar can be traced to the layer that caused it.
type zstdSource struct {
	dec *zstd.Decoder
	err error
}

func (z *zstdSource) Read(p []byte) (int, error) {
	n, err := z.dec.Read(p)
	if err != nil && err != io.EOF {
		z.err = err
	}
	return n, err
}

// openStream starts reading r and checks the format entry.
func openStream(r io.Reader) (*stream, error) {
	dec, err := zstd.NewReader(r, zstd.WithDecoderMaxWindow(maxWindow))
	if err != nil {
		return nil, fmt.Errorf("start zstd: %w", err)
	}
	s := &stream{src: &zstdSource{dec: dec}}
	s.tr = tar.NewReader(s.src)

	if err := s.readFormat(); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *stream) readFormat() error {
	hdr, err := s.tr.Next()
	switch {
	case err == io.EOF:
		return Defect{Kind: DefectNotArchive, Detail: "empty stream"}
	case errors.Is(s.src.err, zstd.ErrMagicMismatch):
		return Defect{Kind: DefectNotArchive, Detail: "not zstd-compressed"}
	case err != nil && s.src.err == nil:
		// zstd decoded it, so it is not a cut archive but something else.
		return Defect{Kind: DefectNotArchive, Detail: fmt.Sprintf("not a tar stream: %v", err)}
	case err != nil:
		return s.fail(err)
	}

	if hdr.Name != FormatEntry || !isRegular(hdr) {
		return Defect{Kind: DefectNotArchive,
			Detail: fmt.Sprintf("first entry is %q, want %q", hdr.Name, FormatEntry)}
	}
	if hdr.Size > maxFormatEntrySize {
		return Defect{Path: FormatEntry, Kind: DefectNotArchive,
			Detail: fmt.Sprintf("%d bytes, more than %d", hdr.Size, maxFormatEntrySize)}
	}
	data := make([]byte, hdr.Size)
	if _, err := io.ReadFull(s.tr, data); err != nil {
		return s.fail(err)
	}
	s.version, err = checkFormatEntry(data)
	return err
}

// next returns the next entry's header, io.EOF at the end of the tar
// stream, or a Defect.
func (s *stream) next() (*tar.Header, error) {
	hdr, err := s.tr.Next()
	if err == io.EOF {
		return nil, io.EOF
	}
	// An unsafe name is reported by the caller, which checks every name.
	if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
		return nil, s.fail(err)
	}
	return hdr, nil
}

// fail turns a read error into a Defect, blaming zstd when it failed.
func (s *stream) fail(err error) error {
	if zerr := s.src.err; zerr != nil {
		if errors.Is(zerr, io.ErrUnexpectedEOF) {
			return Defect{Kind: DefectTruncated, Detail: "zstd stream ends early"}
		}
		return Defect{Kind: DefectCorrupt, Detail: fmt.Sprintf("zstd: %v", zerr)}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return Defect{Kind: DefectTruncated, Detail: "tar stream ends early"}
	}

	// Damage inside a zstd block can decode to garbage that only the frame
	// checksum, at the end, exposes. Read on so the right layer is blamed.
	_, _ = io.Copy(io.Discard, s.src)
	if s.src.err != nil {
		return s.fail(err)
	}
	return Defect{Kind: DefectCorrupt, Detail: fmt.Sprintf("tar: %v", err)}
}

// finish reads past the end of the tar stream to the end of the input:
// zstd checks its frame checksum only there, and anything but zero padding
// after the tar stream means the archive is not what was written.
func (s *stream) finish() error {
	_, err := io.Copy(zeroWriter{}, s.src)
	switch {
	case errors.Is(err, errTrailingData):
		return Defect{Kind: DefectCorrupt, Detail: "data after the end of the tar stream"}
	case err != nil:
		return s.fail(err)
	}
	return nil
}

func (s *stream) close() { s.src.dec.Close() }

var errTrailingData = errors.New("trailing data")

// zeroWriter accepts only zero bytes.
type zeroWriter struct{}

func (zeroWriter) Write(p []byte) (int, error) {
	for i, b := range p {
		if b != 0 {
			return i, errTrailingData
		}
	}
	return len(p), nil
}

// isRegular tells whether an entry is a plain file. The tar reader already
// turns the old-style regular type flag into TypeReg.
func isRegular(hdr *tar.Header) bool { return hdr.Typeflag == tar.TypeReg }
