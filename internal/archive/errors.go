package archive

import "errors"

// Sentinel errors. Errors returned by this package wrap one of these, so
// callers can tell them apart with errors.Is.
var (
	// ErrNotArchive means the stream is not a cairn backup archive at all:
	// not zstd, not tar, or without the format entry first.
	ErrNotArchive = errors.New("not a cairn backup archive")

	// ErrUnsupportedVersion means the archive or manifest declares a format
	// version this build does not know. A newer cairn is needed to read it.
	ErrUnsupportedVersion = errors.New("unsupported format version")

	// ErrInvalidRef means an ObjectRef cannot be stored safely: an empty or
	// unsafe path segment, or a path that is too long.
	ErrInvalidRef = errors.New("invalid object reference")

	// ErrInvalidPath means a path does not name an object in the layout.
	ErrInvalidPath = errors.New("invalid object path")

	// ErrInvalidObject means an object's data cannot be stored: not a JSON
	// object, too large, or its deleting flag disagrees with its metadata.
	ErrInvalidObject = errors.New("invalid object")

	// ErrDuplicate means an object with the same reference was already added.
	ErrDuplicate = errors.New("duplicate object")

	// ErrClosed means the writer or reader was closed, or the writer aborted.
	ErrClosed = errors.New("archive is closed")

	// ErrTruncated means the archive ends before its end: the stream was cut.
	ErrTruncated = errors.New("archive is truncated")

	// ErrCorrupt means the archive is damaged: bad zstd or tar data, objects
	// that disagree with the index, a missing index, unexpected entries.
	ErrCorrupt = errors.New("archive is corrupt")

	// ErrInvalidManifest means a manifest lacks required fields or holds
	// values outside their allowed set.
	ErrInvalidManifest = errors.New("invalid manifest")
)
