package location

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// cleanupTimeout bounds the removal of what a failed upload left behind.
const cleanupTimeout = 30 * time.Second

// Writer streams one object into the location. Object stores receive it as
// a multipart upload, a part at a time: nothing holds the whole object.
type Writer struct {
	w      *blob.Writer
	cancel context.CancelFunc
	key    string
	loc    *Location
	ctx    context.Context // the caller's, for cleaning up after a failure
}

// NewWriter starts writing key. The object appears only when Close
// succeeds; Abort, or a failed Close, leaves no object behind.
func (l *Location) NewWriter(ctx context.Context, key string) (*Writer, error) {
	return l.newWriter(ctx, key, false)
}

func (l *Location) newWriter(ctx context.Context, key string, ifAbsent bool) (*Writer, error) {
	if err := l.writable(key); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	opts := &blob.WriterOptions{
		ContentType:    "application/octet-stream",
		IfNotExist:     ifAbsent,
		BufferSize:     l.upload.partSize,
		MaxConcurrency: l.upload.concurrency,
	}
	// Given a content type, fileblob makes the key's folder and its
	// temporary file here.
	var w *blob.Writer
	err := l.createInFolder(func() error {
		var err error
		w, err = l.bucket.NewWriter(wctx, key, opts)
		return err
	})
	if err != nil {
		cancel()
		return nil, l.wrap(key, "write", err)
	}
	return &Writer{w: w, cancel: cancel, key: key, loc: l, ctx: ctx}, nil
}

// Write appends p to the object.
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil {
		return n, w.loc.wrap(w.key, "write", err)
	}
	return n, nil
}

// Close publishes the object. When it fails, the object does not exist.
func (w *Writer) Close() error {
	defer w.cancel()
	if err := w.w.Close(); err != nil {
		if gcerrors.Code(err) == gcerrors.FailedPrecondition {
			return fmt.Errorf("%s: %w", w.key, ErrExists)
		}
		w.discardParts()
		w.loc.pruneFolders(w.key)
		return w.loc.wrap(w.key, "write", err)
	}
	return nil
}

// Abort discards what was written, and in a folder the folders made for it
// that stay empty.
func (w *Writer) Abort() {
	w.cancel()
	_ = w.w.Close()
	w.discardParts()
	w.loc.pruneFolders(w.key)
}

// discardParts removes the parts that a cancelled multipart upload may
// leave: invisible, but stored and billed. Cancelling the writer's context
// stops the upload before the store is told to drop them, so this asks
// again with the caller's context, which may still be live.
func (w *Writer) discardParts() {
	if w.loc.cleanup == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), cleanupTimeout)
	defer cancel()
	_ = w.loc.cleanup(ctx, w.key)
}

// Put writes a small object whole.
func (l *Location) Put(ctx context.Context, key string, data []byte) error {
	return l.put(ctx, key, data, false)
}

// PutIfAbsent writes a small object unless key exists, in which case it
// returns ErrExists. Two writers racing for one key cannot both succeed:
// folders use a hard link, which fails on an existing name; object stores
// use a conditional write (If-None-Match on S3).
//
// A write whose reply was lost, and that the client or the caller then
// retried, finds its own object in place; an existing object holding exactly
// data therefore counts as success. PutIfAbsent suits unique contents, such
// as a manifest naming its run, and not bare lock markers.
func (l *Location) PutIfAbsent(ctx context.Context, key string, data []byte) error {
	if err := l.writable(key); err != nil {
		return err
	}
	err := l.putIfAbsent(ctx, key, data)
	if !errors.Is(err, ErrExists) {
		return err
	}
	if got, gerr := l.Get(ctx, key); gerr == nil && bytes.Equal(got, data) {
		return nil
	}
	return err
}

func (l *Location) putIfAbsent(ctx context.Context, key string, data []byte) error {
	// Checked first so that a taken key costs no upload; the write itself
	// is what guarantees the promise.
	if ok, err := l.Exists(ctx, key); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("%s: %w", key, ErrExists)
	}
	if l.dir != "" && plainKey(key) {
		return l.linkIfAbsent(key, data)
	}
	return l.put(ctx, key, data, true)
}

func (l *Location) put(ctx context.Context, key string, data []byte, ifAbsent bool) error {
	w, err := l.newWriter(ctx, key, ifAbsent)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// Delete removes key; a missing key is not an error. In a folder, it also
// removes the folders above key that are left empty, but never the
// location's own folder.
func (l *Location) Delete(ctx context.Context, key string) error {
	if err := l.writable(key); err != nil {
		return err
	}
	err := l.bucket.Delete(ctx, key)
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return l.wrap(key, "delete", err)
	}
	l.pruneFolders(key)
	return nil
}

// Probe checks that the location can be written, read and deleted by
// writing a small object at key.
func (l *Location) Probe(ctx context.Context, key string) error {
	want := []byte("cairn location probe\n")
	if err := l.Put(ctx, key, want); err != nil {
		return fmt.Errorf("location %s is not writable: %w", l.URL, err)
	}
	got, err := l.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("location %s is not readable: %w", l.URL, err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("location %s returned different bytes than written", l.URL)
	}
	return l.Delete(ctx, key)
}

func (l *Location) writable(key string) error {
	if l.ReadOnly {
		return fmt.Errorf("write %s in %s: %w", key, l.URL, ErrReadOnly)
	}
	return nil
}
