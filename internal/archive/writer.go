package archive

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// DefaultLevel is the compression level used when WriterOptions.Level is
// unset. Kubernetes JSON compresses well even at the fastest level, and a
// backup should be limited by the API server, not by compression.
const DefaultLevel = zstd.SpeedFastest

// maxEncoderConcurrency bounds the goroutines, and so the buffers, that the
// zstd encoder uses, whatever the number of CPUs.
const maxEncoderConcurrency = 4

// WriterOptions tune a Writer.
type WriterOptions struct {
	// TempDir is where the index is spooled while writing; "" means
	// os.TempDir().
	TempDir string
	// ModTime is stamped on every tar entry, normally the backup's start,
	// so that the same objects give the same archive. It is rounded to the
	// second; the zero time means the Unix epoch.
	ModTime time.Time
	// Level is the zstd compression level; zero means DefaultLevel.
	Level zstd.EncoderLevel
}

// Object is one API object as stored in an archive.
type Object struct {
	// Ref names the object and so its path in the archive.
	Ref ObjectRef
	// Data is the object's JSON exactly as the server returned it, status
	// included.
	Data []byte
	// Deleting is true when metadata.deletionTimestamp was set when the
	// object was read. It must agree with Data.
	Deleting bool
}

// Summary describes a finished archive.
type Summary struct {
	// Objects is the number of objects stored.
	Objects int
	// Bytes is the sum of the objects' data sizes, before compression.
	Bytes int64
	// IndexSHA256 is the lowercase hex SHA-256 of index.jsonl.
	IndexSHA256 string
}

// Writer writes one archive. Add may be called from several goroutines at
// once; objects are stored in the order their Add calls take the writer's
// lock. Close or Abort must be called exactly once at the end.
type Writer struct {
	mu sync.Mutex

	zw  *zstd.Encoder
	tw  *tar.Writer
	mod time.Time

	spoolDir string
	index    *os.File
	indexBuf *bufio.Writer
	seen     *pathSet

	objects int
	bytes   int64
	closed  bool
	err     error // first write failure; the writer is unusable after it
}

// NewWriter starts an archive on w and writes its format entry. It never
// closes w.
func NewWriter(w io.Writer, opts WriterOptions) (*Writer, error) {
	level := opts.Level
	if level == 0 {
		level = DefaultLevel
	}
	mod := opts.ModTime.Round(time.Second).UTC()
	if opts.ModTime.IsZero() {
		mod = time.Unix(0, 0).UTC()
	}

	dir, err := os.MkdirTemp(opts.TempDir, "cairn-archive-")
	if err != nil {
		return nil, fmt.Errorf("create index spool: %w", err)
	}
	aw := &Writer{mod: mod, spoolDir: dir}
	if err := aw.start(w, level); err != nil {
		aw.stopEncoder()
		aw.release()
		return nil, err
	}
	return aw, nil
}

func (w *Writer) start(out io.Writer, level zstd.EncoderLevel) error {
	var err error
	w.index, err = os.Create(filepath.Join(w.spoolDir, IndexEntryName))
	if err != nil {
		return fmt.Errorf("create index spool: %w", err)
	}
	w.indexBuf = bufio.NewWriterSize(w.index, 64<<10)

	fps, err := os.Create(filepath.Join(w.spoolDir, "paths.fp"))
	if err != nil {
		return fmt.Errorf("create path spool: %w", err)
	}
	w.seen = newPathSet(fps, defaultSetBits)

	w.zw, err = zstd.NewWriter(out,
		zstd.WithEncoderLevel(level),
		zstd.WithEncoderConcurrency(min(runtime.GOMAXPROCS(0), maxEncoderConcurrency)))
	if err != nil {
		return fmt.Errorf("start zstd: %w", err)
	}
	w.tw = tar.NewWriter(w.zw)

	return w.writeEntry(FormatEntry, formatEntryData())
}

func (w *Writer) writeEntry(name string, data []byte) error {
	if err := w.tw.WriteHeader(entryHeader(name, int64(len(data)), w.mod)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if _, err := w.tw.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// Add stores one object. It refuses invalid references and data, a
// reference that was already added (ErrDuplicate), and any call after Close
// or Abort (ErrClosed); none of those refusals harm the archive. An error
// from the underlying writer or the spool ends the archive: every later
// call returns it.
func (w *Writer) Add(obj Object) error {
	if err := obj.Ref.Validate(); err != nil {
		return fmt.Errorf("add %s: %w", obj.Ref.Path(), err)
	}
	p := obj.Ref.Path()
	if err := checkObject(obj); err != nil {
		return fmt.Errorf("add %s: %w", p, err)
	}
	sum := sha256.Sum256(obj.Data)
	entry := IndexEntry{
		Ref: obj.Ref, Path: p, Size: int64(len(obj.Data)),
		SHA256: hex.EncodeToString(sum[:]), Deleting: obj.Deleting,
	}
	line, err := entry.MarshalJSON()
	if err != nil {
		return fmt.Errorf("add %s: index entry: %w", p, err)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("add %s: %w", p, ErrClosed)
	}
	if w.err != nil {
		return w.err
	}

	dup, err := w.seen.add(p)
	if err != nil {
		w.err = fmt.Errorf("add %s: %w", p, err)
		return w.err
	}
	if dup {
		return fmt.Errorf("add %s: %w", p, ErrDuplicate)
	}

	if err := w.writeEntry(p, obj.Data); err != nil {
		w.err = err
		return err
	}
	if _, err := w.indexBuf.Write(append(line, '\n')); err != nil {
		w.err = fmt.Errorf("spool index entry for %s: %w", p, err)
		return w.err
	}
	w.objects++
	w.bytes += entry.Size
	return nil
}

// Close appends the index, ends the tar stream and flushes zstd. It never
// closes the writer given to NewWriter. The spool is removed whatever the
// outcome.
func (w *Writer) Close() (Summary, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return Summary{}, fmt.Errorf("close archive: %w", ErrClosed)
	}
	w.closed = true
	defer w.release()
	if w.err != nil {
		w.stopEncoder()
		return Summary{}, w.err
	}

	digest, err := w.finish()
	if err != nil {
		w.stopEncoder()
		return Summary{}, err
	}
	return Summary{Objects: w.objects, Bytes: w.bytes, IndexSHA256: digest}, nil
}

func (w *Writer) finish() (string, error) {
	digest, err := w.appendIndex()
	if err != nil {
		return "", err
	}
	if err := w.tw.Close(); err != nil {
		return "", fmt.Errorf("end tar stream: %w", err)
	}
	if err := w.zw.Close(); err != nil {
		return "", fmt.Errorf("end zstd stream: %w", err)
	}
	return digest, nil
}

// appendIndex copies the spooled index into the archive as its last entry.
func (w *Writer) appendIndex() (string, error) {
	if err := w.indexBuf.Flush(); err != nil {
		return "", fmt.Errorf("spool index: %w", err)
	}
	size, err := w.index.Seek(0, io.SeekCurrent)
	if err != nil {
		return "", fmt.Errorf("spool index: %w", err)
	}

	hdr := entryHeader(IndexEntryName, size, w.mod)
	if err := w.tw.WriteHeader(hdr); err != nil {
		return "", fmt.Errorf("write %s: %w", IndexEntryName, err)
	}
	h := sha256.New()
	src := io.NewSectionReader(w.index, 0, size)
	if _, err := io.Copy(io.MultiWriter(w.tw, h), src); err != nil {
		return "", fmt.Errorf("write %s: %w", IndexEntryName, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Abort gives up on the archive and removes the spool. What was written so
// far stays in the underlying writer and is not a valid archive; the caller
// discards it. Abort after Close does nothing.
func (w *Writer) Abort() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.closed = true
	w.stopEncoder()
	w.release()
}

// stopEncoder ends the zstd encoder without writing more to the output:
// it is pointed at nothing before it is closed, which also stops its
// goroutines.
func (w *Writer) stopEncoder() {
	if w.zw == nil {
		return
	}
	w.zw.Reset(io.Discard)
	_ = w.zw.Close()
}

// release closes and removes the spool files. Errors are ignored: the
// spool is scratch space in a private temporary folder.
func (w *Writer) release() {
	if w.index != nil {
		_ = w.index.Close()
	}
	if w.seen != nil {
		_ = w.seen.file.Close()
	}
	_ = os.RemoveAll(w.spoolDir)
}
