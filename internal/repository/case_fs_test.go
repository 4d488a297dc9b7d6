package repository

import (
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	must(t, err)
	return [32]byte(h.Sum(nil))
}

func statOf(t *testing.T, path string) *syscall.Stat_t {
	t.Helper()
	fi, err := os.Lstat(path)
	must(t, err)
	return fi.Sys().(*syscall.Stat_t)
}

// smallFS mounts a tmpfs of size bytes for the test. Mounting needs root
// (CAP_SYS_ADMIN); without it the restore goes to the temporary folder's
// file system instead, which must then support holes as well.
func smallFS(t *testing.T, size string) string {
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Logf("no %s file system (%v): restoring to %s instead", size, err, dir)
		return dir
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, 0) })
	return dir
}

// TestCase_BD16: a 1 GiB file with 4 KiB of data at 0 and at 512 MiB stores
// under 1 MiB and restores, sparse, onto a 100 MiB file system. Restoring
// onto a target without holes, which would write the zeros, is not tested:
// no file system at hand lacks them.
func TestCase_BD16(t *testing.T) {
	r, _ := newTestRepo(t, InitOptions{Chunker: ChunkerParams{
		MinSize: DefaultMinChunk, MaxSize: DefaultMaxChunk, AverageBits: DefaultAverageBits}})
	src := t.TempDir()
	img := filepath.Join(src, "disk.img")
	f, err := os.Create(img)
	must(t, err)
	must(t, f.Truncate(1<<30))
	for i, off := range []int64{0, 512 << 20} {
		_, err := f.WriteAt(randomBytes(uint64(160+i), 4<<10), off)
		must(t, err)
	}
	must(t, f.Close())

	snap, err := r.Backup(t.Context(), src, BackupOptions{})
	must(t, err)
	if s := snap.Summary.StoredBytes; s >= 1<<20 {
		t.Errorf("the repository stores %d bytes for the file, want under 1 MiB", s)
	}

	dst := filepath.Join(smallFS(t, "100m"), "out")
	_, err = r.Restore(t.Context(), snap, dst, RestoreOptions{})
	must(t, err)
	got := filepath.Join(dst, "disk.img")
	st := statOf(t, got)
	if st.Size != 1<<30 || st.Blocks*512 > 1<<20 {
		t.Errorf("restored size %d with %d bytes of blocks, want 1 GiB with at most 1 MiB",
			st.Size, st.Blocks*512)
	}
	if fileHash(t, got) != fileHash(t, img) {
		t.Error("restored content differs")
	}
}

// TestCase_BD17: hard links restore as one inode, a copy as another; a
// second restore into the same folder changes nothing; one name restored
// alone is a regular file.
func TestCase_BD17(t *testing.T) {
	r, _ := newTestRepo(t, InitOptions{})
	src := t.TempDir()
	data := randomBytes(170, 10<<20)
	writeFile(t, filepath.Join(src, "a"), data)
	must(t, os.Mkdir(filepath.Join(src, "sub"), 0o755))
	must(t, os.Link(filepath.Join(src, "a"), filepath.Join(src, "b")))
	must(t, os.Link(filepath.Join(src, "a"), filepath.Join(src, "sub", "c")))
	writeFile(t, filepath.Join(src, "d"), data)
	snap, err := r.Backup(t.Context(), src, BackupOptions{})
	must(t, err)

	tdir := filepath.Join(t.TempDir(), "T")
	_, err = r.Restore(t.Context(), snap, tdir, RestoreOptions{})
	must(t, err)
	a := statOf(t, filepath.Join(tdir, "a"))
	for _, name := range []string{"b", "sub/c"} {
		if st := statOf(t, filepath.Join(tdir, name)); st.Ino != a.Ino {
			t.Errorf("%s: inode %d, want a's %d", name, st.Ino, a.Ino)
		}
	}
	d := statOf(t, filepath.Join(tdir, "d"))
	if a.Nlink != 3 || d.Ino == a.Ino || d.Nlink != 1 {
		t.Errorf("a has %d links, d inode %d with %d links; want 3, not %d, 1", a.Nlink,
			d.Ino, d.Nlink, a.Ino)
	}
	if used := (a.Blocks + d.Blocks) * 512; used < 20<<20 || used > 21<<20 {
		t.Errorf("the files use %d bytes of blocks, want about 20 MiB", used)
	}
	compareTrees(t, src, tdir)

	before := treeState(t, tdir)
	stats, err := r.Restore(t.Context(), snap, tdir, RestoreOptions{})
	must(t, err)
	if stats.Files != 0 || stats.Unchanged == 0 {
		t.Errorf("second restore wrote %d files, kept %d", stats.Files, stats.Unchanged)
	}
	sameState(t, before, treeState(t, tdir))

	t2 := filepath.Join(t.TempDir(), "T2")
	_, err = r.Restore(t.Context(), snap, t2, RestoreOptions{Paths: []string{"sub/c"}})
	must(t, err)
	c := statOf(t, filepath.Join(t2, "sub", "c"))
	got, err := os.ReadFile(filepath.Join(t2, "sub", "c"))
	must(t, err)
	if c.Mode&syscall.S_IFMT != syscall.S_IFREG || c.Nlink != 1 || string(got) != string(data) {
		t.Errorf("T2/sub/c: mode %o with %d links, content equal %v", c.Mode, c.Nlink,
			string(got) == string(data))
	}
	if ents, _ := os.ReadDir(t2); len(ents) != 1 {
		t.Errorf("T2 holds %d entries, want only sub", len(ents))
	}
}

// entryState is what "changes nothing" compares: ctime changes with any
// change of data or metadata.
type entryState struct {
	ino, nlink   uint64
	mode         uint32
	size         int64
	mtime, ctime int64
}

func treeState(t *testing.T, root string) map[string]entryState {
	t.Helper()
	out := map[string]entryState{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		rel, _ := filepath.Rel(root, p)
		out[rel] = entryState{ino: st.Ino, nlink: uint64(st.Nlink), mode: st.Mode,
			size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}
		return nil
	})
	must(t, err)
	return out
}

func sameState(t *testing.T, before, after map[string]entryState) {
	t.Helper()
	if len(before) != len(after) {
		t.Errorf("%d entries before, %d after", len(before), len(after))
	}
	for name, b := range before {
		if a := after[name]; a != b {
			t.Errorf("%s changed: %+v, was %+v", name, a, b)
		}
	}
}
