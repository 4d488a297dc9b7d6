package repository

import "errors"

var (
	// ErrCorrupt marks data that failed authentication, decompression or an
	// id check: the bytes in storage are not what the repository wrote.
	ErrCorrupt = errors.New("repository data is corrupt")

	// ErrWriteOnly is returned for operations that read old data when the
	// repository was opened without the age identity of a recipient-mode
	// repository.
	ErrWriteOnly = errors.New("repository is open write-only: reading needs the age identity")

	// ErrWrongKey is returned by Open when no key file opens with the
	// credentials given.
	ErrWrongKey = errors.New("no repository key opens with the given password or identity")

	// ErrNotFound is returned when a snapshot, blob or object does not exist.
	ErrNotFound = errors.New("not found")

	// ErrExists is returned by Init when the location already holds a repository.
	ErrExists = errors.New("repository already exists")

	// ErrPruneRunning is returned when another prune holds the prune lock.
	ErrPruneRunning = errors.New("another prune is running")
)

// ErrIncomplete is returned, together with the result, by a backup or
// restore that left out entries it could not read or write. The result
// (Snapshot.Errors, RestoreStats.Items) names each one; everything else was
// stored or restored.
var ErrIncomplete = errors.New("some entries were left out")

// ErrUnreadable fails a backup run with FailOnUnreadable that met an entry
// it could not read.
var ErrUnreadable = errors.New("entry cannot be read")
