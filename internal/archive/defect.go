package archive

import "strings"

// DefectKind names what is wrong with an archive.
type DefectKind string

// The kinds of defect a reader or Verify finds.
const (
	// DefectNotArchive: not zstd, not tar, or no valid format entry first.
	DefectNotArchive DefectKind = "not an archive"
	// DefectVersion: a format version this build does not read.
	DefectVersion DefectKind = "unsupported version"
	// DefectTruncated: the zstd or tar stream ends early.
	DefectTruncated DefectKind = "truncated"
	// DefectCorrupt: zstd or tar data that cannot be decoded, or data after
	// the end of the tar stream.
	DefectCorrupt DefectKind = "corrupt"
	// DefectUnexpectedEntry: an entry that is not an object, the format
	// entry or the index, or any entry after the index.
	DefectUnexpectedEntry DefectKind = "unexpected entry"
	// DefectBadObject: object data that is too large or not a JSON object.
	DefectBadObject DefectKind = "bad object"
	// DefectDuplicate: two object entries, or two index lines, with one path.
	DefectDuplicate DefectKind = "duplicate"
	// DefectNotIndexed: an object entry that the index does not list.
	DefectNotIndexed DefectKind = "not in index"
	// DefectMissing: an index line whose object entry is absent.
	DefectMissing DefectKind = "missing object"
	// DefectChecksum: an object whose SHA-256 differs from the index.
	DefectChecksum DefectKind = "checksum mismatch"
	// DefectSize: an object whose size differs from the index.
	DefectSize DefectKind = "size mismatch"
	// DefectDeleting: an object whose deletionTimestamp disagrees with the
	// index's deleting flag.
	DefectDeleting DefectKind = "deleting mismatch"
	// DefectOrder: index lines in another order than the object entries.
	DefectOrder DefectKind = "out of order"
	// DefectBadIndex: an index line that is not a valid IndexEntry.
	DefectBadIndex DefectKind = "bad index line"
	// DefectNoIndex: the archive ends cleanly but has no index.
	DefectNoIndex DefectKind = "missing index"
)

// Defect is one thing wrong with an archive. It is also the error that
// Reader returns for it, wrapping ErrNotArchive, ErrUnsupportedVersion,
// ErrTruncated or ErrCorrupt.
type Defect struct {
	// Path is the entry or object path concerned; "" for the archive as a
	// whole.
	Path string
	// Kind says what is wrong.
	Kind DefectKind
	// Detail says how, in words.
	Detail string
}

// Error renders the defect, led by its sentinel's message.
func (d Defect) Error() string {
	var b strings.Builder
	b.WriteString(d.Unwrap().Error())
	if d.Path != "" {
		b.WriteString(": " + d.Path)
	}
	if d.Unwrap() == ErrCorrupt && d.Kind != DefectCorrupt {
		b.WriteString(": " + string(d.Kind))
	}
	if d.Detail != "" {
		b.WriteString(": " + d.Detail)
	}
	return b.String()
}

// Unwrap returns the sentinel error of the defect's kind.
func (d Defect) Unwrap() error {
	switch d.Kind {
	case DefectNotArchive:
		return ErrNotArchive
	case DefectVersion:
		return ErrUnsupportedVersion
	case DefectTruncated:
		return ErrTruncated
	default:
		return ErrCorrupt
	}
}

// MaxDefects bounds the defects a Report lists; more are only counted, so
// that verifying a badly damaged archive stays within memory.
const MaxDefects = 1000

// Report is what Verify found.
type Report struct {
	// FormatVersion is the version in the format entry, 0 if unread.
	FormatVersion int
	// Objects is the number of object entries read.
	Objects int
	// Bytes is the sum of their sizes.
	Bytes int64
	// IndexEntries is the number of index lines read.
	IndexEntries int
	// IndexSHA256 is the lowercase hex SHA-256 of index.jsonl, if read.
	IndexSHA256 string
	// Defects lists what is wrong, in the order found, at most MaxDefects.
	Defects []Defect
	// MoreDefects counts defects found beyond MaxDefects.
	MoreDefects int
}

// OK reports whether the archive is sound.
func (r *Report) OK() bool { return len(r.Defects) == 0 }

func (r *Report) add(d Defect) {
	if len(r.Defects) >= MaxDefects {
		r.MoreDefects++
		return
	}
	r.Defects = append(r.Defects, d)
}
