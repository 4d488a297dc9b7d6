// Package locationtest is the conformance suite every location kind passes:
// the promises of package location, checked against a real store.
package locationtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/cairn-backup/cairn/internal/location"
)

// Run checks the promises of package location on l, which must be empty.
func Run(t *testing.T, l *location.Location) {
	ctx := context.Background()
	t.Run("PutGet", func(t *testing.T) {
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
	})
	t.Run("MissingKey", func(t *testing.T) {
		if _, err := l.Get(ctx, "missing"); !errors.Is(err, location.ErrNotFound) {
			t.Fatalf("Get(missing) error = %v, want ErrNotFound", err)
		}
		if _, err := l.Open(ctx, "missing"); !errors.Is(err, location.ErrNotFound) {
			t.Fatalf("Open(missing) error = %v, want ErrNotFound", err)
		}
		if ok, err := l.Exists(ctx, "missing"); ok || err != nil {
			t.Fatalf("Exists(missing) = %v, %v", ok, err)
		}
		if err := l.Delete(ctx, "missing"); err != nil {
			t.Fatalf("Delete(missing) = %v, want nil", err)
		}
	})
	t.Run("PutIfAbsentKeepsFirst", func(t *testing.T) {
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
	})
	t.Run("StreamAndAbort", func(t *testing.T) {
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
		w, err = l.NewWriter(ctx, "stream/done")
		if err != nil {
			t.Fatal(err)
		}
		for range 64 {
			if _, err := w.Write(bytes.Repeat([]byte{7}, 64<<10)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := l.Open(ctx, "stream/done")
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, r)
		_ = r.Close()
		if err != nil || n != 64*64<<10 {
			t.Fatalf("read back %d bytes, %v", n, err)
		}
	})
	t.Run("ListAndDelete", func(t *testing.T) {
		for _, k := range []string{"list/x/1", "list/x/2", "list/y/1"} {
			if err := l.Put(ctx, k, []byte(k)); err != nil {
				t.Fatal(err)
			}
		}
		all, err := l.List(ctx, "list/", "")
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"list/x/1", "list/x/2", "list/y/1"}; !slices.Equal(all, want) {
			t.Fatalf("List = %v, want %v", all, want)
		}
		dirs, err := l.List(ctx, "list/", "/")
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"list/x/", "list/y/"}; !slices.Equal(dirs, want) {
			t.Fatalf("List with delimiter = %v, want %v", dirs, want)
		}
		if err := l.Delete(ctx, "list/x/1"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := l.Exists(ctx, "list/x/1"); ok {
			t.Fatal("deleted object exists")
		}
	})
	t.Run("Probe", func(t *testing.T) {
		if err := l.Probe(ctx, "probe"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := l.Exists(ctx, "probe"); ok {
			t.Fatal("probe object left behind")
		}
	})
}
