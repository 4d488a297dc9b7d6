package archive

import (
	"archive/tar"
	"crypto/sha256"
	"fmt"
	"io"
)

// Reader reads an archive object by object, in the order they were added.
//
// The index comes last, so objects are returned before they can be checked:
// Next keeps a small record of each (path, size, SHA-256) and compares them
// all with the index when it reaches it. Only when Next returns io.EOF has
// the whole archive been verified; a caller that acts on objects before
// then (a restore, say) must be ready to learn at the end that one of them
// was damaged.
type Reader struct {
	s      *stream
	ledger *ledger
	defect error // first defect the ledger reported
	index  []IndexEntry
	keep   bool  // keep the index for Index
	err    error // sticky: io.EOF at the end, or the first failure
}

// KeepIndex makes the reader keep the index for Index. Without it the index
// is checked and dropped, so that reading an archive of millions of objects
// does not hold an entry for each.
func (r *Reader) KeepIndex() { r.keep = true }

// NewReader starts reading an archive. It checks the format entry and
// returns an error wrapping ErrNotArchive or ErrUnsupportedVersion when it
// is not a version it knows.
func NewReader(r io.Reader) (*Reader, error) {
	s, err := openStream(r)
	if err != nil {
		return nil, fmt.Errorf("open archive: %w", err)
	}
	rd := &Reader{s: s}
	rd.ledger = newLedger(rd.note)
	return rd, nil
}

func (r *Reader) note(d Defect) {
	if r.defect == nil {
		r.defect = d
	}
}

// Next returns the next object. After the last one it checks every object
// against the index and returns io.EOF if all agree. Any other error is a
// Defect (see errors.As) wrapping ErrTruncated, ErrCorrupt or another
// sentinel, and every later call returns it again.
//
// Object.Deleting is read from the object's metadata.deletionTimestamp,
// since the index, which also records it, has not been read yet.
func (r *Reader) Next() (Object, error) {
	if r.err != nil {
		return Object{}, r.err
	}
	obj, err := r.next()
	if err != nil {
		r.err = err
	}
	return obj, err
}

func (r *Reader) next() (Object, error) {
	hdr, err := r.s.next()
	if err == io.EOF {
		return Object{}, Defect{Kind: DefectNoIndex, Detail: "the tar stream ends without " +
			IndexEntryName}
	}
	if err != nil {
		return Object{}, err
	}
	if hdr.Name == IndexEntryName && isRegular(hdr) {
		return Object{}, r.readIndex()
	}
	return r.readObject(hdr)
}

func (r *Reader) readObject(hdr *tar.Header) (Object, error) {
	ref, err := parsePath(hdr.Name)
	if err != nil {
		return Object{}, Defect{Path: hdr.Name, Kind: DefectUnexpectedEntry, Detail: err.Error()}
	}
	if !isRegular(hdr) {
		return Object{}, Defect{Path: hdr.Name, Kind: DefectUnexpectedEntry,
			Detail: fmt.Sprintf("tar type %q is not a regular file", hdr.Typeflag)}
	}
	if hdr.Size > MaxObjectSize {
		return Object{}, Defect{Path: hdr.Name, Kind: DefectBadObject,
			Detail: fmt.Sprintf("%d bytes, more than %d", hdr.Size, MaxObjectSize)}
	}

	data := make([]byte, hdr.Size)
	if _, err := io.ReadFull(r.s.tr, data); err != nil {
		return Object{}, r.s.fail(err)
	}
	deleting, err := objectDeleting(data)
	if err != nil {
		return Object{}, Defect{Path: hdr.Name, Kind: DefectBadObject, Detail: err.Error()}
	}

	r.ledger.object(record{
		path: hdr.Name, size: hdr.Size, sum: sha256.Sum256(data), deleting: deleting,
	})
	if r.defect != nil {
		return Object{}, r.defect
	}
	return Object{Ref: ref, Data: data, Deleting: deleting}, nil
}

// readIndex reads and checks the index, then makes sure nothing follows it.
func (r *Reader) readIndex() error {
	var entries []IndexEntry
	_, err := readIndex(r.s, r.s.tr, r.note, func(line int, e IndexEntry) {
		r.ledger.entry(line, e)
		if r.keep {
			entries = append(entries, e)
		}
	})
	if err != nil {
		return err
	}
	r.ledger.end()
	if r.defect != nil {
		return r.defect
	}

	hdr, err := r.s.next()
	if err == nil {
		return Defect{Path: hdr.Name, Kind: DefectUnexpectedEntry, Detail: "entry after the index"}
	}
	if err != io.EOF {
		return err
	}
	if err := r.s.finish(); err != nil {
		return err
	}
	r.index = entries
	return io.EOF
}

// Index returns the archive's index once Next has returned io.EOF, if
// KeepIndex was called before; nil otherwise.
func (r *Reader) Index() []IndexEntry { return r.index }

// Close stops reading and releases the decoder. It does not close the
// io.Reader given to NewReader.
func (r *Reader) Close() error {
	if r.err == nil || r.err == io.EOF {
		r.err = fmt.Errorf("read archive: %w", ErrClosed)
	}
	r.s.close()
	return nil
}
