package repository

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Result is how one entry of a backup or restore ended, when not as planned.
type Result string

// The results an Outcome records.
const (
	// ResultFailed: the entry was not stored or not restored.
	ResultFailed Result = "failed"
	// ResultSkipped: the entry was left out on purpose, as restore's
	// SkipExisting leaves entries that are already there.
	ResultSkipped Result = "skipped"
)

// Outcome is one entry that a backup or restore did not handle as planned:
// which entry, what was being done to it, how that ended and why.
type Outcome struct {
	// Path is relative to the backed-up or restored folder; folders end in
	// a slash.
	Path string `json:"path"`
	// Action is the operation: open, read, readdir, lstat, readlink, xattr
	// for a backup; create, write, link, metadata or read for a restore.
	Action string `json:"action"`
	Result Result `json:"result"`
	// Errno is the system error's name, such as EACCES, when there is one.
	Errno  string `json:"errno,omitempty"`
	Reason string `json:"reason"`
}

// newOutcome describes err without the absolute path a PathError repeats.
func newOutcome(path, action string, res Result, err error) Outcome {
	o := Outcome{Path: path, Action: action, Result: res}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		o.Errno = unix.ErrnoName(errno)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Err != nil {
		o.Reason = pe.Err.Error()
	} else if err != nil {
		o.Reason = err.Error()
	}
	return o
}

// actionOf names the operation of a PathError, else def.
func actionOf(err error, def string) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op
	}
	return def
}

// unreadable records an entry the backup leaves out, or, under
// FailOnUnreadable, returns the error that fails the backup.
func (b *backup) unreadable(path, action string, err error) error {
	if b.opts.FailOnUnreadable {
		return fmt.Errorf("%w: %s: %w", ErrUnreadable, action, err)
	}
	rel, rerr := filepath.Rel(b.source, path)
	if rerr != nil {
		rel = path
	}
	if action == "readdir" {
		rel += "/"
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.outcomes = append(b.outcomes, newOutcome(rel, action, ResultFailed, err))
	return nil
}

func (b *backup) sortedOutcomes() []Outcome {
	b.mu.Lock()
	defer b.mu.Unlock()
	slices.SortFunc(b.outcomes, func(x, y Outcome) int { return strings.Compare(x.Path, y.Path) })
	return b.outcomes
}

// readError marks a failure to read a file, as opposed to one to store it.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }
