package repository

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/klauspost/compress/zstd"
	"github.com/restic/chunker"
	"github.com/zeebo/blake3"
)

// worker reads files into chunks. Each has its own chunker, hasher, zstd
// encoder and data pack, so workers share nothing but the index and the
// upload queue.
type worker struct {
	b      *backup
	ch     *chunker.Chunker
	hasher *blake3.Hasher
	enc    *zstd.Encoder
	buf    []byte
	zbuf   []byte
	pack   *packer
}

func newWorker(b *backup) *worker {
	h, _ := blake3.NewKeyed(b.r.keys.IDKey)
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
	return &worker{b: b, hasher: h, enc: enc}
}

// run reads files until the job queue closes, then sends its last pack.
// After an error it cancels the backup but keeps taking jobs, so that the
// walker is never left blocked on a full queue.
func (w *worker) run(ctx context.Context) error {
	for j := range w.b.jobs {
		if context.Cause(ctx) != nil {
			continue
		}
		if err := w.readFile(ctx, j); err != nil {
			w.b.cancel(err)
			continue
		}
		w.b.done(ctx, w, j.dir)
	}
	if err := context.Cause(ctx); err != nil {
		return err
	}
	if w.pack == nil {
		return nil
	}
	return w.b.up.send(ctx, w.pack)
}

func (w *worker) readFile(ctx context.Context, j *fileJob) error {
	n := j.node
	if n.Size == 0 {
		w.b.progress(0)
		return nil
	}
	err := w.readContent(ctx, j)
	var rerr *readError
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		n.omit = true // removed since listed
		w.b.skipped.Add(1)
	case errors.As(err, &rerr):
		n.omit = true
		if err := w.b.unreadable(j.path, actionOf(err, "read"), err); err != nil {
			return err
		}
	default:
		return err
	}
	w.b.progress(0)
	return nil
}

func (w *worker) readContent(ctx context.Context, j *fileJob) error {
	n := j.node
	w.b.read.Add(1)
	f, err := openNoAtime(j.path)
	if err != nil {
		return &readError{err}
	}
	defer f.Close()

	extents := []Extent{{Offset: 0, Length: n.Size}}
	if sparse(j.fi) {
		if extents, n.Holes, err = dataExtents(f, n.Size); err != nil {
			return &readError{&fs.PathError{Op: "seek", Path: j.path, Err: err}}
		}
	}
	for _, e := range extents {
		if err := w.readExtent(ctx, f, e, n); err != nil {
			return fmt.Errorf("%s: %w", j.path, err)
		}
	}
	return nil
}

// readExtent chunks one data region of a file. Regions smaller than the
// minimum chunk are one chunk and skip the chunker.
func (w *worker) readExtent(ctx context.Context, f *os.File, e Extent, n *Node) error {
	cp := w.b.r.cfg.Chunker
	rd := io.NewSectionReader(f, e.Offset, e.Length)
	if e.Length <= int64(cp.MinSize) {
		if cap(w.buf) < int(e.Length) {
			w.buf = make([]byte, max(e.Length, 64<<10))
		}
		data := w.buf[:e.Length]
		if _, err := io.ReadFull(rd, data); err != nil {
			return &readError{err}
		}
		return w.store(ctx, data, n)
	}

	if cap(w.buf) < int(cp.MaxSize) {
		w.buf = make([]byte, cp.MaxSize)
	}
	if w.ch == nil {
		w.ch = chunker.NewWithBoundaries(rd, w.b.r.keys.Polynomial, cp.MinSize, cp.MaxSize)
	} else {
		w.ch.ResetWithBoundaries(rd, w.b.r.keys.Polynomial, cp.MinSize, cp.MaxSize)
	}
	w.ch.SetAverageBits(cp.AverageBits)
	for {
		c, err := w.ch.Next(w.buf[:cap(w.buf)])
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &readError{err}
		}
		if err := w.store(ctx, c.Data, n); err != nil {
			return err
		}
	}
}

// store adds one chunk to the file's content, and to the pack when new.
func (w *worker) store(ctx context.Context, data []byte, n *Node) error {
	id := w.hash(data)
	n.Content = append(n.Content, id)
	if p := w.b.opts.Progress; p != nil {
		p.Bytes.Add(int64(len(data)))
	}
	if !w.b.claim(id) {
		return nil
	}
	w.b.newBytes.Add(int64(len(data)))
	w.b.dataBlobs.Add(1)

	stored, comp := w.compress(data)
	if w.pack != nil && !w.pack.fits(len(stored), w.b.r.cfg.PackSize) {
		p := w.pack
		w.pack = nil
		if err := w.b.up.send(ctx, p); err != nil {
			return err
		}
	}
	if w.pack == nil {
		w.pack = newPacker(DataBlob, w.b.up.buffer())
	}
	w.pack.add(id, stored, len(data), comp)
	return nil
}

func (w *worker) hash(data []byte) ID {
	w.hasher.Reset()
	_, _ = w.hasher.Write(data)
	var id ID
	w.hasher.Sum(id[:0])
	return id
}

// compress returns the zstd form of data when it is smaller, else data.
func (w *worker) compress(data []byte) ([]byte, bool) {
	w.zbuf = w.enc.EncodeAll(data, w.zbuf[:0])
	if len(w.zbuf) >= len(data) {
		return data, false
	}
	return w.zbuf, true
}
