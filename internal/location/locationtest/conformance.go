// Package locationtest is the conformance suite every location kind passes:
// the promises of package location, checked against a real store. It also
// holds FaultProxy, which puts faults between a location and an S3 server.
package locationtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/cairn-backup/cairn/internal/location"
)

// Run checks the promises of package location on l, which must be empty
// and writable.
func Run(t *testing.T, l *location.Location) {
	t.Run("PutGet", func(t *testing.T) { testPutGet(t, l) })
	t.Run("EmptyObject", func(t *testing.T) { testEmpty(t, l) })
	t.Run("MissingKey", func(t *testing.T) { testMissing(t, l) })
	t.Run("PutIfAbsentKeepsFirst", func(t *testing.T) { testPutIfAbsent(t, l) })
	t.Run("PutIfAbsentRace", func(t *testing.T) { testPutIfAbsentRace(t, l) })
	t.Run("StreamAndAbort", func(t *testing.T) { testStreamAndAbort(t, l) })
	t.Run("LargeAbort", func(t *testing.T) { testLargeAbort(t, l) })
	t.Run("CancelledWrite", func(t *testing.T) { testCancelledWrite(t, l) })
	t.Run("ListAndDelete", func(t *testing.T) { testListAndDelete(t, l) })
	t.Run("ListPages", func(t *testing.T) { testListPages(t, l) })
	t.Run("UnusualKeys", func(t *testing.T) { testUnusualKeys(t, l) })
	t.Run("Probe", func(t *testing.T) { testProbe(t, l) })
}

func testPutGet(t *testing.T, l *location.Location) {
	ctx := t.Context()
	data := bytes.Repeat([]byte("cairn"), 1000)
	if err := l.Put(ctx, "a/b/put", data); err != nil {
		t.Fatal(err)
	}
	got, err := l.Get(ctx, "a/b/put")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get = %d bytes, %v; want %d bytes", len(got), err, len(data))
	}
	size, err := l.Size(ctx, "a/b/put")
	if err != nil || size != int64(len(data)) {
		t.Fatalf("Size = %d, %v; want %d", size, err, len(data))
	}
	if ok, err := l.Exists(ctx, "a/b/put"); !ok || err != nil {
		t.Fatalf("Exists = %v, %v; want true", ok, err)
	}
	if ok, _ := l.Exists(ctx, "a/b"); ok {
		t.Fatal("a folder of keys exists as an object")
	}
}

func testEmpty(t *testing.T, l *location.Location) {
	ctx := t.Context()
	if err := l.Put(ctx, "empty/put", nil); err != nil {
		t.Fatal(err)
	}
	w, err := l.NewWriter(ctx, "empty/stream")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"empty/put", "empty/stream"} {
		got, err := l.Get(ctx, key)
		if err != nil || len(got) != 0 {
			t.Errorf("Get(%s) = %d bytes, %v; want an empty object", key, len(got), err)
		}
	}
}

func testMissing(t *testing.T, l *location.Location) {
	ctx := t.Context()
	if _, err := l.Get(ctx, "missing"); !errors.Is(err, location.ErrNotFound) {
		t.Errorf("Get(missing) error = %v, want ErrNotFound", err)
	}
	if _, err := l.Open(ctx, "missing"); !errors.Is(err, location.ErrNotFound) {
		t.Errorf("Open(missing) error = %v, want ErrNotFound", err)
	}
	if _, err := l.Size(ctx, "missing"); !errors.Is(err, location.ErrNotFound) {
		t.Errorf("Size(missing) error = %v, want ErrNotFound", err)
	}
	if ok, err := l.Exists(ctx, "missing"); ok || err != nil {
		t.Errorf("Exists(missing) = %v, %v", ok, err)
	}
	if err := l.Delete(ctx, "missing"); err != nil {
		t.Errorf("Delete(missing) = %v, want nil", err)
	}
	keys, err := l.List(ctx, "missing/", "")
	if err != nil || len(keys) != 0 {
		t.Errorf("List(missing/) = %v, %v; want nothing", keys, err)
	}
}

func testPutIfAbsent(t *testing.T, l *location.Location) {
	ctx := t.Context()
	if err := l.PutIfAbsent(ctx, "once", []byte("first")); err != nil {
		t.Fatal(err)
	}
	err := l.PutIfAbsent(ctx, "once", []byte("second"))
	if !errors.Is(err, location.ErrExists) {
		t.Fatalf("second PutIfAbsent error = %v, want ErrExists", err)
	}
	if got, _ := l.Get(ctx, "once"); string(got) != "first" {
		t.Fatalf("object = %q, want first", got)
	}
	// A retry of the same write, whose first reply was lost, succeeds.
	if err := l.PutIfAbsent(ctx, "once", []byte("first")); err != nil {
		t.Fatalf("PutIfAbsent with the same bytes = %v, want nil", err)
	}
}

// testPutIfAbsentRace has writers race for one key past the existence
// check: exactly one may win.
func testPutIfAbsentRace(t *testing.T, l *location.Location) {
	ctx := t.Context()
	const writers = 8
	errs := make([]error, writers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range writers {
		wg.Go(func() {
			<-start
			errs[i] = l.PutIfAbsent(ctx, "race", fmt.Appendf(nil, "writer %d", i))
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both published", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, location.ErrExists):
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer published")
	}
	if got, _ := l.Get(ctx, "race"); string(got) != fmt.Sprintf("writer %d", winner) {
		t.Fatalf("object = %q, want writer %d's", got, winner)
	}
}

func testStreamAndAbort(t *testing.T, l *location.Location) {
	ctx := t.Context()
	w, err := l.NewWriter(ctx, "stream/aborted")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if ok, _ := l.Exists(ctx, "stream/aborted"); ok {
		t.Fatal("aborted object exists")
	}
	const size = 64 * 64 << 10
	if err := WriteStream(ctx, l, "stream/done", size); err != nil {
		t.Fatal(err)
	}
	r, err := l.Open(ctx, "stream/done")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, r)
	_ = r.Close()
	if err != nil || n != size {
		t.Fatalf("read back %d bytes, %v", n, err)
	}
}

// testLargeAbort aborts a writer past the size at which object stores
// switch to multipart uploads.
func testLargeAbort(t *testing.T, l *location.Location) {
	ctx := t.Context()
	w, err := l.NewWriter(ctx, "large/aborted")
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{1}, 1<<20)
	for range 40 {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	w.Abort()
	if ok, _ := l.Exists(ctx, "large/aborted"); ok {
		t.Fatal("aborted object exists")
	}
	if keys, _ := l.List(ctx, "large/", ""); len(keys) != 0 {
		t.Fatalf("aborted write left %v", keys)
	}
}

// testCancelledWrite cancels the context of a writer mid-stream: Close
// must fail and publish nothing.
func testCancelledWrite(t *testing.T, l *location.Location) {
	ctx, cancel := context.WithCancel(t.Context())
	w, err := l.NewWriter(ctx, "cancelled")
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{2}, 1<<20)
	for range 20 {
		if _, err := w.Write(chunk); err != nil {
			break
		}
	}
	cancel()
	if err := w.Close(); err == nil {
		t.Fatal("Close after cancel succeeded")
	}
	if ok, _ := l.Exists(t.Context(), "cancelled"); ok {
		t.Fatal("cancelled object exists")
	}
}

func testListAndDelete(t *testing.T, l *location.Location) {
	ctx := t.Context()
	for _, k := range []string{"list/x/1", "list/x/2", "list/y/1", "list/z"} {
		if err := l.Put(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		prefix, delim string
		want          []string
	}{
		{"list/", "", []string{"list/x/1", "list/x/2", "list/y/1", "list/z"}},
		{"list/", "/", []string{"list/x/", "list/y/", "list/z"}},
		{"list/x/", "/", []string{"list/x/1", "list/x/2"}},
		{"list/x", "", []string{"list/x/1", "list/x/2"}},
	} {
		got, err := l.List(ctx, tc.prefix, tc.delim)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("List(%q, %q) = %v, want %v", tc.prefix, tc.delim, got, tc.want)
		}
	}
	if err := l.Delete(ctx, "list/x/1"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := l.Exists(ctx, "list/x/1"); ok {
		t.Fatal("deleted object exists")
	}
	got, _ := l.List(ctx, "list/x/", "")
	if !slices.Equal(got, []string{"list/x/2"}) {
		t.Fatalf("List after delete = %v", got)
	}
}

// testListPages lists more keys than object stores return in one page.
func testListPages(t *testing.T, l *location.Location) {
	ctx := t.Context()
	const n = 1100
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		work = make(chan int)
	)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				if err := l.Put(ctx, fmt.Sprintf("pages/%05d", i), nil); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	keys, err := l.List(ctx, "pages/", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != n || !slices.IsSorted(keys) {
		t.Fatalf("List returned %d keys (sorted: %v), want %d sorted", len(keys),
			slices.IsSorted(keys), n)
	}
}

func testUnusualKeys(t *testing.T, l *location.Location) {
	ctx := t.Context()
	keys := []string{"odd/a b+c=d@e,f.txt", "odd/ünïcødé", "odd/per%cent", "odd/x~y!z"}
	for _, k := range keys {
		if err := l.Put(ctx, k, []byte(k)); err != nil {
			t.Fatalf("Put(%q): %v", k, err)
		}
		if got, err := l.Get(ctx, k); err != nil || string(got) != k {
			t.Fatalf("Get(%q) = %q, %v", k, got, err)
		}
	}
	got, err := l.List(ctx, "odd/", "")
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Sorted(slices.Values(keys))
	if !slices.Equal(got, want) {
		t.Fatalf("List = %q, want %q", got, want)
	}
}

func testProbe(t *testing.T, l *location.Location) {
	if err := l.Probe(t.Context(), "probe"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := l.Exists(t.Context(), "probe"); ok {
		t.Fatal("probe object left behind")
	}
}

// WriteStream writes size bytes of a repeating pattern to key through a
// writer, in 64 KiB writes.
func WriteStream(ctx context.Context, l *location.Location, key string, size int64) error {
	w, err := l.NewWriter(ctx, key)
	if err != nil {
		return err
	}
	chunk := bytes.Repeat([]byte{7}, 64<<10)
	for size > 0 {
		n := min(size, int64(len(chunk)))
		if _, err := w.Write(chunk[:n]); err != nil {
			w.Abort()
			return err
		}
		size -= n
	}
	return w.Close()
}
