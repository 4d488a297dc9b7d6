package repository

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// largestObject returns the biggest file under dir.
func largestObject(t *testing.T, dir string) (string, int64) {
	t.Helper()
	var best string
	var size int64
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && fi.Size() > size {
			best, size = p, fi.Size()
		}
		return err
	})
	must(t, err)
	if best == "" {
		t.Fatalf("no objects under %s", dir)
	}
	return best, size
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	must(t, err)
	defer f.Close()
	b := make([]byte, 1)
	_, err = f.ReadAt(b, off)
	must(t, err)
	b[0] ^= 0x40
	_, err = f.WriteAt(b, off)
	must(t, err)
}

func TestCorruptionIsFoundAndRefused(t *testing.T) {
	tests := []struct {
		name     string
		dir      string
		offset   func(size int64) int64
		readData bool // only reading the whole pack finds it
		wantErr  error
	}{
		{"pack blob", "data", func(int64) int64 { return 100 }, true, ErrCorrupt},
		{"pack header", "data", func(s int64) int64 { return s - int64(trailerSize) - 300 }, false, ErrCorrupt},
		{"pack trailer", "data", func(s int64) int64 { return s - 1 }, false, ErrCorrupt},
		{"index", "index", func(s int64) int64 { return s / 2 }, false, ErrCorrupt},
		{"missing pack", "data", nil, false, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, dir := newTestRepo(t, InitOptions{})
			snap, err := r.Backup(t.Context(), dataTree(t, 7, 20), BackupOptions{})
			must(t, err)
			rep, err := r.Check(t.Context(), CheckOptions{ReadDataPercent: 100})
			must(t, err)
			if !rep.OK() {
				t.Fatalf("check before damage: %+v", rep.Errors)
			}

			obj, size := largestObject(t, filepath.Join(dir, tt.dir))
			if tt.offset == nil {
				must(t, os.Remove(obj))
			} else {
				flipByte(t, obj, tt.offset(size))
			}

			rep, err = r.Check(t.Context(), CheckOptions{})
			must(t, err)
			if rep.OK() == !tt.readData {
				t.Errorf("structure check OK=%v, want %v: %+v", rep.OK(), tt.readData, rep.Errors)
			}
			rep, err = r.Check(t.Context(), CheckOptions{ReadDataPercent: 100})
			must(t, err)
			if rep.OK() {
				t.Error("check --read-data found nothing wrong")
			}

			dst := filepath.Join(t.TempDir(), "out")
			_, err = r.Restore(t.Context(), snap, dst, RestoreOptions{})
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("restore error %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// A damaged chunk fails the file that uses it; the other files of its pack
// are restored whole. No two files share a chunk here, so exactly one fails.
func TestDamagedChunkFailsOnlyItsFiles(t *testing.T) {
	r, dir := newTestRepo(t, InitOptions{})
	src := uniqueTree(t, 9, 40)
	snap, err := r.Backup(t.Context(), src, BackupOptions{})
	must(t, err)
	pack, _ := largestObject(t, filepath.Join(dir, "data"))
	flipByte(t, pack, 100) // inside the pack's first chunk

	dst := filepath.Join(t.TempDir(), "out")
	stats, err := r.Restore(t.Context(), snap, dst, RestoreOptions{})
	if !errors.Is(err, ErrIncomplete) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("restore error %v, want ErrIncomplete and ErrCorrupt", err)
	}
	if stats.Failed != 1 {
		t.Fatalf("%d files failed for one damaged chunk: %+v", stats.Failed, stats.Items)
	}
	failed := map[string]bool{}
	for _, o := range stats.Items {
		failed[o.Path] = true
	}
	restored := 0
	err = filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		got, rerr := os.ReadFile(filepath.Join(dst, rel))
		if failed[rel] {
			if rerr == nil {
				t.Errorf("%s failed but is in the target", rel)
			}
			return nil
		}
		want, _ := os.ReadFile(p)
		if rerr != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: restored %d bytes (%v), want the %d of the source", rel, len(got), rerr,
				len(want))
		}
		restored++
		return nil
	})
	must(t, err)
	if restored < 30 {
		t.Errorf("only %d files restored", restored)
	}
	if stats.Files != int64(restored) {
		t.Errorf("stats count %d files restored, the target has %d", stats.Files, restored)
	}
}

// A damaged pack deleted by hand heals: the next snapshot stores its chunks
// again, prune drops it from the index, and check and every restore pass.
func TestDeletedPackHeals(t *testing.T) {
	r, dir := newTestRepo(t, InitOptions{})
	src := dataTree(t, 11, 20)
	first, err := r.Backup(t.Context(), src, BackupOptions{})
	must(t, err)
	pack, _ := largestObject(t, filepath.Join(dir, "data"))
	must(t, os.Remove(pack))

	second, err := r.Backup(t.Context(), src, BackupOptions{})
	must(t, err)
	if second.Summary.NewBytes == 0 {
		t.Fatal("the snapshot after the loss stored nothing again")
	}
	if rep := prune(t, r); rep.PacksForgotten != 1 {
		t.Errorf("prune forgot %d missing packs, want 1", rep.PacksForgotten)
	}
	checkOK(t, r)
	for _, s := range []*Snapshot{first, second} {
		dst := filepath.Join(t.TempDir(), "out")
		_, err := r.Restore(t.Context(), s, dst, RestoreOptions{})
		must(t, err)
		compareTrees(t, src, dst)
	}
}
