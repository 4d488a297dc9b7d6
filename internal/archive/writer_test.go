package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestWriterGolden(t *testing.T) {
	archive, sum := writeArchive(t, fixtureObjects())
	tarData := decompress(t, archive)

	golden(t, "archive.tar.txt", tarListing(t, tarData))
	es := entries(t, archive)
	index := es[len(es)-1]
	golden(t, "index.jsonl", index.data)

	if es[0].hdr.Name != FormatEntry || string(es[0].data) != string(formatEntryData()) {
		t.Errorf("first entry is %q %q", es[0].hdr.Name, es[0].data)
	}
	if want := len(fixtureObjects()); sum.Objects != want {
		t.Errorf("summary counts %d objects, want %d", sum.Objects, want)
	}
	var bytesWant int64
	for _, o := range fixtureObjects() {
		bytesWant += int64(len(o.Data))
	}
	if sum.Bytes != bytesWant {
		t.Errorf("summary counts %d bytes, want %d", sum.Bytes, bytesWant)
	}
	if got := sha256Hex(index.data); sum.IndexSHA256 != got {
		t.Errorf("summary index sha256 %s, index hashes to %s", sum.IndexSHA256, got)
	}
}

func TestWriterReproducible(t *testing.T) {
	a, _ := writeArchive(t, fixtureObjects())
	b, _ := writeArchive(t, fixtureObjects())
	if !bytes.Equal(decompress(t, a), decompress(t, b)) {
		t.Error("the same objects gave different tar streams")
	}
}

func TestWriterRefuses(t *testing.T) {
	good := fixtureObjects()[1]
	tests := []struct {
		name string
		obj  Object
		want error
	}{
		{"duplicate", good, ErrDuplicate},
		{"dot name", Object{Ref: ObjectRef{"", "v1", "configmaps", "shop", ".."},
			Data: []byte(`{}`)}, ErrInvalidRef},
		{"slash in name", Object{Ref: ObjectRef{"", "v1", "configmaps", "shop", "a/b"},
			Data: []byte(`{}`)}, ErrInvalidRef},
		{"core group", Object{Ref: ObjectRef{"core", "v1", "configmaps", "shop", "a"},
			Data: []byte(`{}`)}, ErrInvalidRef},
		{"not JSON", Object{Ref: ObjectRef{"", "v1", "configmaps", "shop", "b"},
			Data: []byte(`{"a":`)}, ErrInvalidObject},
		{"JSON array", Object{Ref: ObjectRef{"", "v1", "configmaps", "shop", "c"},
			Data: []byte(`[1]`)}, ErrInvalidObject},
		{"deleting without timestamp", Object{Ref: ObjectRef{"", "v1", "pods", "shop", "d"},
			Data: []byte(`{"metadata":{}}`), Deleting: true}, ErrInvalidObject},
		{"timestamp without deleting", Object{Ref: ObjectRef{"", "v1", "pods", "shop", "e"},
			Data: []byte(`{"metadata":{"deletionTimestamp":"2024-01-01T00:00:00Z"}}`)},
			ErrInvalidObject},
		{"two objects", Object{Ref: ObjectRef{"", "v1", "configmaps", "shop", "g"},
			Data: []byte(`{"a":1} {}`)}, ErrInvalidObject},
		{"text after the object", Object{Ref: ObjectRef{"", "v1", "configmaps", "shop", "h"},
			Data: []byte(`{"a":1}x`)}, ErrInvalidObject},
		{"unclosed member", Object{Ref: ObjectRef{"", "v1", "configmaps", "shop", "i"},
			Data: []byte(`{"metadata":{"name":"i"}`)}, ErrInvalidObject},
		{"too large", Object{Ref: ObjectRef{"", "v1", "pods", "shop", "f"},
			Data: make([]byte, MaxObjectSize+1)}, ErrInvalidObject},
	}

	var buf bytes.Buffer
	w, err := NewWriter(&buf, WriterOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(good); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := w.Add(tt.obj); !errors.Is(err, tt.want) {
				t.Errorf("Add: %v, want %v", err, tt.want)
			}
		})
	}

	// Refusals leave the archive whole.
	sum, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if sum.Objects != 1 {
		t.Errorf("archive holds %d objects, want 1", sum.Objects)
	}
	if rep, err := Verify(&buf); err != nil {
		t.Errorf("Verify: %v (%+v)", err, rep.Defects)
	}
	if err := w.Add(fixtureObjects()[2]); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close: %v, want ErrClosed", err)
	}
	if _, err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}
}

func TestWriterConcurrentAdd(t *testing.T) {
	const workers, perWorker = 16, 250
	var buf bytes.Buffer
	w, err := NewWriter(&buf, WriterOptions{TempDir: t.TempDir(), ModTime: fixtureTime})
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Go(func() {
			for j := range perWorker {
				name := fmt.Sprintf("cm-%d-%d", i, j)
				data := fmt.Appendf(nil, `{"metadata":{"name":%q},"data":{"n":"%d"}}`, name, j)
				ref := ObjectRef{Version: "v1", Resource: "configmaps", Namespace: "bulk", Name: name}
				if err := w.Add(Object{Ref: ref, Data: data}); err != nil {
					errs <- err
					return
				}
				// Every object is also added twice by another worker, racing.
				err := w.Add(Object{Ref: ref, Data: data})
				if !errors.Is(err, ErrDuplicate) {
					errs <- fmt.Errorf("second add of %s: %v", name, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	sum, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if sum.Objects != workers*perWorker {
		t.Errorf("archive holds %d objects, want %d", sum.Objects, workers*perWorker)
	}
	rep, err := Verify(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if rep.Objects != workers*perWorker || rep.IndexEntries != rep.Objects {
		t.Errorf("Verify read %d objects and %d index entries", rep.Objects, rep.IndexEntries)
	}
}

func TestWriterRemovesSpool(t *testing.T) {
	tests := []struct {
		name string
		end  func(*Writer)
	}{
		{"close", func(w *Writer) { _, _ = w.Close() }},
		{"abort", func(w *Writer) { w.Abort() }},
		{"abort after close", func(w *Writer) { _, _ = w.Close(); w.Abort() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := NewWriter(&bytes.Buffer{}, WriterOptions{TempDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Add(fixtureObjects()[0]); err != nil {
				t.Fatal(err)
			}
			tt.end(w)
			left, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 0 {
				t.Errorf("%d files left in the spool folder", len(left))
			}
			if err := w.Add(fixtureObjects()[1]); !errors.Is(err, ErrClosed) {
				t.Errorf("Add after the end: %v, want ErrClosed", err)
			}
		})
	}
}

// failAfter accepts n bytes, then fails every write.
type failAfter struct{ n int }

var errDiskFull = errors.New("disk full")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		n := f.n
		f.n = 0
		return n, errDiskFull
	}
	f.n -= len(p)
	return len(p), nil
}

func TestWriterOutputFailure(t *testing.T) {
	w, err := NewWriter(&failAfter{n: 100}, WriterOptions{TempDir: t.TempDir(), Level: 1})
	if err != nil {
		t.Fatal(err)
	}
	// zstd buffers, so the failure shows in a later Add or in Close.
	var addErr error
	for i := range 2000 {
		o := Object{Ref: ObjectRef{Version: "v1", Resource: "configmaps",
			Namespace: "x", Name: fmt.Sprint(i)}, Data: bytes.Repeat([]byte(" "), 4000)}
		o.Data[0], o.Data[len(o.Data)-1] = '{', '}'
		if addErr = w.Add(o); addErr != nil {
			break
		}
	}
	_, closeErr := w.Close()
	if !errors.Is(addErr, errDiskFull) && !errors.Is(closeErr, errDiskFull) {
		t.Errorf("the output's failure was not reported: Add %v, Close %v", addErr, closeErr)
	}
}

func TestWriterModTime(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"zero is the epoch", time.Time{}, time.Unix(0, 0)},
		{"rounded to the second", fixtureTime.Add(600 * time.Millisecond),
			fixtureTime.Add(time.Second)},
		{"other zones become UTC", fixtureTime.In(time.FixedZone("x", 3600)), fixtureTime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, WriterOptions{TempDir: t.TempDir(), ModTime: tt.in})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Close(); err != nil {
				t.Fatal(err)
			}
			for _, e := range entries(t, buf.Bytes()) {
				if !e.hdr.ModTime.Equal(tt.want) {
					t.Errorf("%s has mod time %s, want %s", e.hdr.Name, e.hdr.ModTime, tt.want)
				}
			}
		})
	}
}
