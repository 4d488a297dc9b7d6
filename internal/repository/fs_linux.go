package repository

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// nodeFromInfo builds the node of path from its lstat result.
func nodeFromInfo(path, name string, fi fs.FileInfo) (Node, error) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return Node{}, fmt.Errorf("%s: no stat data", path)
	}
	n := Node{
		Name: name, Mode: st.Mode & 0o7777, UID: st.Uid, GID: st.Gid,
		MTime: st.Mtim.Nano(), ATime: st.Atim.Nano(), CTime: st.Ctim.Nano(),
		Inode: st.Ino, Device: st.Dev, Links: st.Nlink,
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
		n.Type, n.Size = NodeFile, st.Size
	case syscall.S_IFDIR:
		// Listing a folder updates its access time, so recording it would
		// make every backup store new trees; restore uses the mtime.
		n.Type, n.ATime = NodeDir, 0
	case syscall.S_IFLNK:
		n.Type = NodeSymlink
		target, err := os.Readlink(path)
		if err != nil {
			return Node{}, err
		}
		n.LinkTarget = target
	case syscall.S_IFIFO:
		n.Type = NodeFIFO
	case syscall.S_IFSOCK:
		n.Type = NodeSocket
	case syscall.S_IFCHR:
		n.Type, n.Rdev = NodeChar, st.Rdev
	case syscall.S_IFBLK:
		n.Type, n.Rdev = NodeBlock, st.Rdev
	default:
		return Node{}, fmt.Errorf("%s: unknown file type %o", path, st.Mode&syscall.S_IFMT)
	}
	if n.Type != NodeDir && n.Links <= 1 {
		n.Links = 0 // only hard-linked entries need the count
	}

	x, err := readXattrs(path)
	if err != nil {
		return Node{}, err
	}
	n.Xattrs = x
	return n, nil
}

// sparse reports whether a file has fewer blocks than its size needs.
func sparse(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Blocks*512 < st.Size
}

// readXattrs lists the extended attributes of path, not following links. A
// file system without xattr support yields none.
func readXattrs(path string) ([]Xattr, error) {
	var buf [1024]byte
	list := buf[:]
	n, err := unix.Llistxattr(path, list)
	if errors.Is(err, unix.ERANGE) {
		if n, err = unix.Llistxattr(path, nil); err == nil {
			list = make([]byte, n)
			n, err = unix.Llistxattr(path, list)
		}
	}
	if errors.Is(err, unix.ENOTSUP) || n == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: list xattrs: %w", path, err)
	}

	var out []Xattr
	for _, name := range bytes.Split(list[:n], []byte{0}) {
		if len(name) == 0 {
			continue
		}
		v, err := getXattr(path, string(name))
		if err != nil {
			return nil, err
		}
		out = append(out, Xattr{Name: string(name), Value: v})
	}
	return out, nil
}

func getXattr(path, name string) ([]byte, error) {
	sz, err := unix.Lgetxattr(path, name, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: xattr %s: %w", path, name, err)
	}
	v := make([]byte, sz)
	sz, err = unix.Lgetxattr(path, name, v)
	if err != nil {
		return nil, fmt.Errorf("%s: xattr %s: %w", path, name, err)
	}
	return v[:sz], nil
}

// dataExtents returns the data regions of a sparse file and its holes, found
// with SEEK_DATA and SEEK_HOLE.
func dataExtents(f *os.File, size int64) (data, holes []Extent, err error) {
	fd := int(f.Fd())
	var off int64
	for off < size {
		start, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			start = size
		} else if err != nil {
			return nil, nil, err
		}
		if start > off {
			holes = append(holes, Extent{Offset: off, Length: start - off})
		}
		if start >= size {
			break
		}
		end, err := unix.Seek(fd, start, unix.SEEK_HOLE)
		if err != nil {
			return nil, nil, err
		}
		end = min(end, size)
		data = append(data, Extent{Offset: start, Length: end - start})
		off = end
	}
	return data, holes, nil
}

// openNoAtime opens a file for reading without updating its access time when
// the caller may do so.
func openNoAtime(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOATIME, 0)
	if errors.Is(err, unix.EPERM) {
		return os.Open(path)
	}
	return f, err
}

// makeSpecial creates a FIFO, socket placeholder or device node.
func makeSpecial(path string, n *Node) error {
	var mode uint32
	switch n.Type {
	case NodeFIFO:
		mode = unix.S_IFIFO
	case NodeSocket:
		mode = unix.S_IFSOCK
	case NodeChar:
		mode = unix.S_IFCHR
	case NodeBlock:
		mode = unix.S_IFBLK
	}
	return unix.Mknod(path, mode|0o600, int(n.Rdev))
}

// restoreMeta gives a restored entry the owner, mode, xattrs and times of
// its node. It changes only what differs, so restoring over an entry that
// already matches leaves even its ctime. Owner changes that the process may
// not make are skipped, as tar does for unprivileged users.
func restoreMeta(path string, n *Node, chown bool) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return err
	}
	if chown && (st.Uid != n.UID || st.Gid != n.GID) {
		if err := os.Lchown(path, int(n.UID), int(n.GID)); err != nil &&
			!errors.Is(err, unix.EPERM) {
			return err
		}
		st.Mode = 0 // chown may clear setuid and setgid
	}
	if n.Type != NodeSymlink && st.Mode&0o7777 != n.Mode {
		if err := unix.Chmod(path, n.Mode); err != nil {
			return err
		}
	}
	if err := restoreXattrs(path, n.Xattrs); err != nil {
		return err
	}
	atime := n.ATime
	if atime == 0 {
		atime = n.MTime
	}
	if st.Mtim.Nano() == n.MTime {
		return nil
	}
	ts := []unix.Timespec{unix.NsecToTimespec(atime), unix.NsecToTimespec(n.MTime)}
	return unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func restoreXattrs(path string, xs []Xattr) error {
	if len(xs) == 0 {
		return nil
	}
	have, err := readXattrs(path)
	if err != nil {
		have = nil
	}
	for _, x := range xs {
		if slices.ContainsFunc(have, func(h Xattr) bool {
			return h.Name == x.Name && bytes.Equal(h.Value, x.Value)
		}) {
			continue
		}
		err := unix.Lsetxattr(path, x.Name, x.Value, 0)
		if err != nil && !errors.Is(err, unix.ENOTSUP) && !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("xattr %s: %w", x.Name, err)
		}
	}
	return nil
}

// matches reports whether the entry at path, with its lstat result, already
// holds what n records (see ExistingPolicy).
func matches(path string, fi fs.FileInfo, n *Node) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	switch n.Type {
	case NodeDir:
		return fi.IsDir()
	case NodeFile:
		return fi.Mode().IsRegular() && st.Size == n.Size && st.Mtim.Nano() == n.MTime
	case NodeSymlink:
		target, err := os.Readlink(path)
		return fi.Mode()&fs.ModeSymlink != 0 && err == nil && target == n.LinkTarget
	}
	got, err := nodeFromInfo(path, "", fi)
	return err == nil && got.Type == n.Type && got.Rdev == n.Rdev
}
