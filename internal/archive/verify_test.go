package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// editIndex rewrites the index, the last entry, line by line.
func editIndex(es []entry, edit func([]string) []string) []entry {
	out := clone(es)
	last := &out[len(out)-1]
	lines := strings.Split(strings.TrimSuffix(string(last.data), "\n"), "\n")
	last.data = []byte(strings.Join(edit(lines), "\n") + "\n")
	return out
}

type found struct {
	kind DefectKind
	path string
}

func TestVerify(t *testing.T) {
	good, _ := writeArchive(t, fixtureObjects())
	es := entries(t, good)
	path := func(i int) string { return es[i].hdr.Name }
	tarData := decompress(t, good)
	const extra = "resources/core/v1/secrets/namespaces/shop/extra.json"

	tests := []struct {
		name    string
		archive []byte
		want    []found
	}{
		{name: "intact", archive: good},
		{name: "zero padding after the tar stream", archive: compress(t,
			append(slices0(tarData), make([]byte, 10240)...))},
		{name: "flipped byte in an object", archive: build(t, flip(es, 4)),
			want: []found{{DefectChecksum, path(4)}}},
		{name: "swapped objects of one size", archive: build(t, swap(es, 2, 7)),
			want: []found{{DefectChecksum, path(2)}, {DefectChecksum, path(7)}}},
		{name: "swapped objects of two sizes", archive: build(t, swap(es, 2, 3)),
			want: []found{{DefectSize, path(2)}, {DefectSize, path(3)}}},
		{name: "truncated in the middle", archive: good[:len(good)/2],
			want: []found{{DefectTruncated, ""}}},
		{name: "truncated by one byte", archive: good[:len(good)-1],
			want: []found{{DefectTruncated, ""}}},
		{name: "missing index", archive: build(t, es[:len(es)-1]),
			want: []found{{DefectNoIndex, ""}}},
		{name: "missing object", archive: build(t, remove(es, 4)),
			want: []found{{DefectMissing, path(4)}}},
		{name: "extra object", archive: build(t, insert(es, 5, named(es[1], extra, es[1].data))),
			want: []found{{DefectNotIndexed, extra}}},
		{name: "extra file", archive: build(t, insert(es, 5, named(es[1], "notes.txt", nil))),
			want: []found{{DefectUnexpectedEntry, "notes.txt"}}},
		{name: "escaping path", archive: build(t,
			insert(es, 5, named(es[1], "resources/../../etc/passwd", nil))),
			want: []found{{DefectUnexpectedEntry, "resources/../../etc/passwd"}}},
		{name: "directory entry", archive: build(t, insert(es, 1, dirEntry(es[1]))),
			want: []found{{DefectUnexpectedEntry, "resources/"}}},
		{name: "entry after the index", archive: build(t, append(clone(es), es[2])),
			want: []found{{DefectUnexpectedEntry, path(2)}}},
		{name: "duplicate object", archive: build(t, insert(es, 4, es[2])),
			want: []found{{DefectDuplicate, path(2)}}},
		{name: "duplicate index line", archive: build(t, editIndex(es, func(l []string) []string {
			return append(l, l[0])
		})), want: []found{{DefectDuplicate, path(1)}}},
		{name: "index out of order", archive: build(t, editIndex(es, func(l []string) []string {
			l[0], l[1] = l[1], l[0]
			return l
		})), want: []found{{DefectOrder, path(1)}}},
		{name: "bad index line", archive: build(t, editIndex(es, func(l []string) []string {
			l[2] = `{"path":`
			return l
		})), want: []found{{DefectBadIndex, IndexEntryName}, {DefectNotIndexed, path(3)}}},
		{name: "index entry with a bad digest", archive: build(t, editIndex(es,
			func(l []string) []string {
				l[2] = strings.Replace(l[2], `"sha256":"`, `"sha256":"XY`, 1)
				return l
			})), want: []found{{DefectBadIndex, IndexEntryName}, {DefectNotIndexed, path(3)}}},
		{name: "deleting flag lost from the index", archive: build(t, editIndex(es,
			func(l []string) []string {
				l[7] = strings.Replace(l[7], `,"deleting":true`, "", 1)
				return l
			})), want: []found{{DefectDeleting, path(8)}}},
		{name: "object not JSON", archive: build(t, replace(es, 4, []byte("not json"))),
			want: []found{{DefectBadObject, path(4)}, {DefectSize, path(4)}}},
		{name: "wrong format version", want: []found{{DefectVersion, ""}},
			archive: build(t, replace(es, 0, []byte(`{"format":"cairn.backup","version":7}`)))},
		{name: "not zstd", archive: tarData, want: []found{{DefectNotArchive, ""}}},
		{name: "data after the tar stream", want: []found{{DefectCorrupt, ""}},
			archive: compress(t, append(slices0(tarData), "more"...))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Verify(bytes.NewReader(tt.archive))
			var got []found
			for _, d := range rep.Defects {
				got = append(got, found{d.Kind, d.Path})
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("defects %v, want %v\n%v", got, tt.want, err)
			}
			if (err == nil) != (len(tt.want) == 0) || rep.OK() != (err == nil) {
				t.Errorf("error %v with %d defects", err, len(rep.Defects))
			}
			if len(tt.want) > 0 && !errors.Is(err, rep.Defects[0]) {
				t.Errorf("error %v does not wrap the first defect", err)
			}
		})
	}
}

func slices0(b []byte) []byte { return append([]byte(nil), b...) }

func dirEntry(template entry) entry {
	e := named(template, "resources/", nil)
	e.hdr.Typeflag = tar.TypeDir
	e.hdr.Mode = 0o755
	return e
}

// TestVerifyDamagedCompression flips a byte of the compressed stream, which
// zstd's block decoding or frame checksum must catch.
func TestVerifyDamagedCompression(t *testing.T) {
	good, _ := writeArchive(t, fixtureObjects())
	for _, at := range []int{len(good) / 3, len(good) / 2, len(good) - 6} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			bad := slices0(good)
			bad[at] ^= 0x55
			rep, err := Verify(bytes.NewReader(bad))
			if err == nil || rep.OK() {
				t.Fatal("Verify accepted a damaged stream")
			}
			d := rep.Defects[len(rep.Defects)-1]
			if !errors.Is(err, ErrCorrupt) || !strings.HasPrefix(d.Detail, "zstd:") {
				t.Errorf("Verify: %v, want a zstd defect", err)
			}
		})
	}
}

func TestVerifyCapsDefects(t *testing.T) {
	var objs []Object
	for i := range MaxDefects + 10 {
		objs = append(objs, Object{Ref: ObjectRef{Version: "v1", Resource: "configmaps",
			Namespace: "x", Name: fmt.Sprint(i)}, Data: []byte(`{}`)})
	}
	archive, _ := writeArchive(t, objs)
	es := entries(t, archive)
	rep, err := Verify(bytes.NewReader(build(t, es[:len(es)-1])))
	if err == nil || len(rep.Defects) != 1 {
		t.Fatalf("without an index: %v, %d defects", err, len(rep.Defects))
	}

	rep, err = Verify(bytes.NewReader(build(t, editIndex(es, func([]string) []string {
		return []string{"{}"}
	}))))
	if err == nil {
		t.Fatal("Verify accepted an empty index")
	}
	if len(rep.Defects) != MaxDefects || rep.MoreDefects != 11 {
		t.Errorf("%d defects listed, %d more, want %d and 11",
			len(rep.Defects), rep.MoreDefects, MaxDefects)
	}
	if !strings.Contains(err.Error(), fmt.Sprint(MaxDefects+11, " defects")) {
		t.Errorf("error %q does not count the defects", err)
	}
}
