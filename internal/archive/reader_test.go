package archive

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
)

var writeFixture = flag.Bool("write-fixture", false,
	"write testdata/v1/archive.tar.zst; only when a new format version is fixed")

// readAll reads every object and returns them with the final error.
func readAll(t *testing.T, archive []byte) ([]Object, *Reader, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(archive))
	if err != nil {
		return nil, nil, err
	}
	t.Cleanup(func() { _ = r.Close() })
	r.KeepIndex()
	var objs []Object
	for {
		obj, err := r.Next()
		if err == io.EOF {
			return objs, r, nil
		}
		if err != nil {
			return objs, r, err
		}
		objs = append(objs, obj)
	}
}

func checkObjects(t *testing.T, got, want []Object) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read %d objects, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Ref != w.Ref || !bytes.Equal(g.Data, w.Data) || g.Deleting != w.Deleting {
			t.Errorf("object %d is %v %q deleting=%t, want %v %q deleting=%t",
				i, g.Ref, g.Data, g.Deleting, w.Ref, w.Data, w.Deleting)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	want := fixtureObjects()
	archive, sum := writeArchive(t, want)

	got, r, err := readAll(t, archive)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	checkObjects(t, got, want)

	index := r.Index()
	if len(index) != len(want) {
		t.Fatalf("index has %d entries, want %d", len(index), len(want))
	}
	for i, e := range index {
		o := want[i]
		if e.Ref != o.Ref || e.Path != o.Ref.Path() || e.Size != int64(len(o.Data)) ||
			e.SHA256 != sha256Hex(o.Data) || e.Deleting != o.Deleting {
			t.Errorf("index entry %d is %+v", i, e)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("Next after the end: %v, want io.EOF", err)
	}

	rep, err := Verify(bytes.NewReader(archive))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if rep.Objects != len(want) || rep.IndexEntries != len(want) ||
		rep.Bytes != sum.Bytes || rep.IndexSHA256 != sum.IndexSHA256 || rep.FormatVersion != 1 {
		t.Errorf("Verify reports %+v, summary %+v", rep, sum)
	}
}

func TestRoundTripEmpty(t *testing.T) {
	archive, sum := writeArchive(t, nil)
	got, r, err := readAll(t, archive)
	if err != nil || len(got) != 0 || len(r.Index()) != 0 {
		t.Fatalf("read %d objects, index %d, error %v", len(got), len(r.Index()), err)
	}
	if sum.IndexSHA256 != sha256Hex(nil) {
		t.Errorf("empty index hashes to %s", sum.IndexSHA256)
	}
}

// TestFixtureOpens reads the version 1 archive written when the format was
// fixed. It must keep opening for as long as cairn reads version 1.
func TestFixtureOpens(t *testing.T) {
	p := filepath.Join("testdata", "v1", "archive.tar.zst")
	if *writeFixture {
		archive, _ := writeArchive(t, fixtureObjects())
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, archive, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	archive, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}

	got, _, err := readAll(t, archive)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	checkObjects(t, got, fixtureObjects())
	if _, err := Verify(bytes.NewReader(archive)); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestReaderRefuses(t *testing.T) {
	good, _ := writeArchive(t, fixtureObjects())
	es := entries(t, good)

	tests := []struct {
		name    string
		archive []byte
		open    error // from NewReader; nil when it must open
		read    error // from Next, at some point
		kind    DefectKind
	}{
		{name: "empty", archive: nil, open: ErrNotArchive, kind: DefectNotArchive},
		{name: "plain tar", archive: decompress(t, good), open: ErrNotArchive,
			kind: DefectNotArchive},
		{name: "zstd but not tar", archive: compress(t, []byte("hello, world\n")),
			open: ErrNotArchive, kind: DefectNotArchive},
		{name: "another format", open: ErrNotArchive, kind: DefectNotArchive,
			archive: build(t, replace(es, 0, []byte(`{"format":"other","version":1}`)))},
		{name: "version 2", open: ErrUnsupportedVersion, kind: DefectVersion,
			archive: build(t, replace(es, 0, []byte(`{"format":"cairn.backup","version":2}`)))},
		{name: "flipped byte", read: ErrCorrupt, kind: DefectChecksum,
			archive: build(t, flip(es, 3))},
		{name: "truncated", read: ErrTruncated, kind: DefectTruncated,
			archive: good[:len(good)/2]},
		{name: "no index", read: ErrCorrupt, kind: DefectNoIndex,
			archive: build(t, es[:len(es)-1])},
		{name: "entry after index", read: ErrCorrupt, kind: DefectUnexpectedEntry,
			archive: build(t, append(clone(es), es[1]))},
		{name: "duplicate entry", read: ErrCorrupt, kind: DefectDuplicate,
			archive: build(t, insert(es, 3, es[1]))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAll(t, tt.archive)
			want := tt.open
			if want == nil {
				want = tt.read
			}
			if !errors.Is(err, want) {
				t.Fatalf("read: %v, want %v", err, want)
			}
			var d Defect
			if !errors.As(err, &d) || d.Kind != tt.kind {
				t.Errorf("read: %v, want a defect of kind %q", err, tt.kind)
			}
		})
	}
}

func TestReaderClose(t *testing.T) {
	archive, _ := writeArchive(t, fixtureObjects())
	r, err := NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: %v, want ErrClosed", err)
	}
	if r.Index() != nil {
		t.Error("Index is set before the end")
	}
}

func TestReaderDropsTheIndexUnlessKept(t *testing.T) {
	archive, _ := writeArchive(t, fixtureObjects())
	r, err := NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for {
		if _, err := r.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if r.Index() != nil {
		t.Errorf("Index kept %d entries without KeepIndex", len(r.Index()))
	}
}
