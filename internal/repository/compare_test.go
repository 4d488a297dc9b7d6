package repository

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// entryInfo is what a restore must reproduce of one entry.
type entryInfo struct {
	mode   fs.FileMode
	uid    uint32
	gid    uint32
	mtime  int64
	size   int64
	target string
	rdev   uint64
	xattrs map[string]string
	data   []byte
	blocks int64
	ino    uint64
}

func scanTree(t *testing.T, root string) map[string]entryInfo {
	t.Helper()
	out := map[string]entryInfo{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		e := entryInfo{mode: fi.Mode(), uid: st.Uid, gid: st.Gid, mtime: st.Mtim.Nano(),
			blocks: st.Blocks, ino: st.Ino, rdev: st.Rdev, xattrs: map[string]string{}}
		if rel == "." {
			e.mtime = 0 // the root's time is checked on its own
		}
		xs, err := readXattrs(path)
		if err != nil {
			return err
		}
		for _, x := range xs {
			e.xattrs[x.Name] = string(x.Value)
		}
		switch {
		case fi.Mode().IsRegular():
			e.size = fi.Size()
			if e.data, err = os.ReadFile(path); err != nil {
				return err
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			e.target, _ = os.Readlink(path)
		}
		out[rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// compareTrees checks that got holds the same entries as want, byte for byte
// and with the same metadata; hard links must link the same names.
func compareTrees(t *testing.T, want, got string) {
	t.Helper()
	w, g := scanTree(t, want), scanTree(t, got)
	if len(w) != len(g) {
		t.Errorf("restored %d entries, want %d", len(g), len(w))
	}
	wantLinks, gotLinks := map[uint64][]string{}, map[uint64][]string{}
	for name, we := range w {
		ge, ok := g[name]
		if !ok {
			t.Errorf("%s: missing", name)
			continue
		}
		if we.mode != ge.mode || we.uid != ge.uid || we.gid != ge.gid || we.rdev != ge.rdev {
			t.Errorf("%s: mode %v uid %d gid %d rdev %d, want %v %d %d %d", name,
				ge.mode, ge.uid, ge.gid, ge.rdev, we.mode, we.uid, we.gid, we.rdev)
		}
		if we.mtime != ge.mtime {
			t.Errorf("%s: mtime %d, want %d", name, ge.mtime, we.mtime)
		}
		if we.size != ge.size || !bytes.Equal(we.data, ge.data) {
			t.Errorf("%s: content differs (size %d, want %d)", name, ge.size, we.size)
		}
		if we.target != ge.target {
			t.Errorf("%s: link target %q, want %q", name, ge.target, we.target)
		}
		if len(we.xattrs) != len(ge.xattrs) {
			t.Errorf("%s: xattrs %v, want %v", name, ge.xattrs, we.xattrs)
		}
		for k, v := range we.xattrs {
			if ge.xattrs[k] != v {
				t.Errorf("%s: xattr %s = %q, want %q", name, k, ge.xattrs[k], v)
			}
		}
		if we.mode.IsRegular() && ge.blocks > we.blocks+8 {
			t.Errorf("%s: %d blocks, want at most %d: sparse file was filled", name,
				ge.blocks, we.blocks)
		}
		if we.mode.IsRegular() {
			wantLinks[we.ino] = append(wantLinks[we.ino], name)
			gotLinks[ge.ino] = append(gotLinks[ge.ino], name)
		}
	}
	if len(wantLinks) != len(gotLinks) {
		t.Errorf("restored %d distinct inodes, want %d", len(gotLinks), len(wantLinks))
	}
}

// kindsTree writes one of every kind of entry the repository records.
func kindsTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "empty"), nil)
	writeFile(t, filepath.Join(dir, "small.txt"), []byte("hello\n"))
	writeFile(t, filepath.Join(dir, "big.bin"), randomBytes(1, 3<<20))
	writeFile(t, filepath.Join(dir, "sub", "deeper", "file"), randomBytes(2, 40000))
	must(t, os.Chmod(filepath.Join(dir, "small.txt"), 0o4751))
	must(t, os.Mkdir(filepath.Join(dir, "emptydir"), 0o700))
	must(t, os.Symlink("small.txt", filepath.Join(dir, "link")))
	must(t, os.Symlink("/does/not/exist", filepath.Join(dir, "sub", "dangling")))
	must(t, os.Link(filepath.Join(dir, "small.txt"), filepath.Join(dir, "sub", "hardlink")))
	must(t, unix.Mkfifo(filepath.Join(dir, "fifo"), 0o640))

	sp, err := os.Create(filepath.Join(dir, "sparse"))
	must(t, err)
	_, err = sp.WriteAt(randomBytes(3, 100000), 1<<20)
	must(t, err)
	_, err = sp.WriteAt([]byte("tail"), 64<<20)
	must(t, err)
	must(t, sp.Close())

	err = unix.Lsetxattr(filepath.Join(dir, "small.txt"), "user.note", []byte("kept"), 0)
	if err != nil && err != unix.ENOTSUP {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		must(t, unix.Mknod(filepath.Join(dir, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
		must(t, os.Lchown(filepath.Join(dir, "sub", "deeper", "file"), 1234, 5678))
		must(t, os.Lchown(filepath.Join(dir, "link"), 42, 43))
	}
	must(t, os.Chmod(filepath.Join(dir, "sub", "deeper"), 0o555))
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(dir, "sub", "deeper"), 0o755) })
	return dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
