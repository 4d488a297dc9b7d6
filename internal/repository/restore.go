package repository

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// RestoreOptions tune a restore.
type RestoreOptions struct {
	// Workers is how many packs are read at once; 0 means 4.
	Workers int
	// Progress, when set, is updated while the restore runs.
	Progress *Progress
	// Existing decides what happens to entries already in the target.
	Existing ExistingPolicy
	// Paths, when set, restores only these entries of the snapshot, given
	// relative to its folder with slashes, with everything below them and
	// the folders on the way to them. A hard link restored without the
	// other names of its file becomes a regular file.
	Paths []string
}

// ExistingPolicy decides what a restore does with an entry that is already
// in the target. An entry matches the snapshot when it has the same type
// and, for files, the same size and mtime; for symlinks, the same target;
// for hard links, the same inode as the other names. Contents are not
// compared: a file changed in place with its size and mtime kept looks
// unchanged. Entries of the target that the snapshot lacks are left alone.
type ExistingPolicy string

// The policies for existing entries.
const (
	// KeepMatching, the default, keeps matching entries, giving them the
	// snapshot's metadata, and reports every other existing entry as failed
	// without changing it. Restoring twice into one folder changes nothing.
	KeepMatching ExistingPolicy = ""
	// Overwrite keeps matching entries and replaces the others.
	Overwrite ExistingPolicy = "overwrite"
	// SkipExisting leaves every existing entry as it is, metadata included,
	// and reports it as skipped; it still restores what is missing inside
	// existing folders.
	SkipExisting ExistingPolicy = "skip"
)

// RestoreStats counts what a restore wrote, and lists the entries that it
// skipped or could not restore.
type RestoreStats struct {
	Files     int64     `json:"files"`
	Dirs      int64     `json:"dirs"`
	Bytes     int64     `json:"bytes"`
	Unchanged int64     `json:"unchanged"`
	Skipped   int64     `json:"skipped"`
	Failed    int64     `json:"failed"`
	Items     []Outcome `json:"items,omitempty"`
}

// restore is the plan and state of one restore.
type restore struct {
	r      *Repository
	ix     *Index
	opts   RestoreOptions
	target string
	chown  bool

	files   []string             // paths of regular files with content
	counted map[string]int64     // size of each file with content in stats
	packs   map[ID][]chunkTarget // what to write from each pack
	links   []linkItem           // hard links to make
	inode   map[[2]uint64]string // first path of each hard-linked inode
	meta    []metaItem           // entries whose metadata is set at the end
	sizes   map[ID]indexPack     // pack sizes
	modes   []metaItem           // existing folders opened for writing, to close again
	opened  map[string]bool      // folders openUp has looked at

	mu       sync.Mutex
	stats    RestoreStats
	failed   map[string]bool
	firstErr error
}

// chunkTarget is one place a blob is written to.
type chunkTarget struct {
	blob   Blob
	file   int32
	offset int64
}

type metaItem struct {
	path string
	node *Node
}

type linkItem struct {
	from, to string
}

// Restore writes the snapshot's folder to target, creating it if needed.
// Entries already in target are treated as o.Existing says. Files are
// created first, then packs are read in parallel and each chunk is written
// where it belongs with WriteAt, in whatever order packs arrive; holes are
// never written, so sparse files stay sparse. Every chunk is authenticated
// and its id checked.
//
// An entry that cannot be restored, because its data is missing or corrupt
// in the repository or the target refuses it, does not stop the others: a
// file is never left short or filled with zeros but removed, and the
// returned stats list it. The error then wraps ErrIncomplete and the first
// entry's error; the stats are returned with it.
//
// A restore records a session, as a backup does, so that a prune running
// meanwhile deletes none of the packs it reads but condemned ones whose
// blobs it keeps elsewhere; the restore then reads them there. Where the session cannot be
// stored, as on a read-only location, the restore goes on unprotected: a
// prune that runs then may make it fail, never write wrong data.
func (r *Repository) Restore(ctx context.Context, snap *Snapshot, target string,
	o RestoreOptions) (*RestoreStats, error) {
	if err := r.needRead(); err != nil {
		return nil, fmt.Errorf("restore %s: %w", snap.ID.Short(), err)
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if sess, err := r.startSession(ctx, ""); err == nil {
		defer func() { _ = r.endSession(ctx, sess) }() // a lost end times out
	}
	ix, err := r.readerIndex(ctx)
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", snap.ID.Short(), err)
	}
	rs := &restore{r: r, ix: ix, opts: o, target: target, chown: os.Geteuid() == 0,
		packs: map[ID][]chunkTarget{}, inode: map[[2]uint64]string{},
		sizes: map[ID]indexPack{}, failed: map[string]bool{}, opened: map[string]bool{},
		counted: map[string]int64{}}
	if err := rs.run(ctx, snap); err != nil {
		return nil, fmt.Errorf("restore %s to %s: %w", snap.ID.Short(), target, err)
	}
	if rs.stats.Failed > 0 {
		first := rs.stats.Items[slices.IndexFunc(rs.stats.Items, func(o Outcome) bool {
			return o.Result == ResultFailed
		})]
		return &rs.stats, fmt.Errorf("restore %s to %s: %w: %d failed, the first %s: %w",
			snap.ID.Short(), target, ErrIncomplete, rs.stats.Failed, first.Path, rs.firstErr)
	}
	return &rs.stats, nil
}

func (rs *restore) run(ctx context.Context, snap *Snapshot) error {
	_, err := os.Lstat(rs.target)
	existed := err == nil
	if err := os.MkdirAll(rs.target, 0o700); err != nil {
		return err
	}
	if err := rs.plan(ctx, snap.Tree, rs.target); err != nil {
		return err
	}
	if h := rs.r.hooks.restorePlanned; h != nil {
		h(slices.Collect(maps.Keys(rs.packs)))
	}
	if err := rs.writeData(ctx); err != nil {
		return err
	}
	for i, path := range rs.files {
		if rs.failed[path] {
			_ = os.Remove(rs.files[i]) // never leave a short or zero-filled file
		}
	}
	rs.makeLinks()
	for _, m := range rs.modes {
		if err := os.Chmod(m.path, os.FileMode(m.node.Mode)); err != nil {
			rs.fail(m.path, "metadata", err)
		}
	}
	rs.setMeta()
	if !existed || rs.opts.Existing != SkipExisting {
		if err := restoreMeta(rs.target, &snap.Root, rs.chown); err != nil {
			rs.fail(rs.target, "metadata", err)
		}
	}
	return ctx.Err()
}

// fail records that the entry at path was not restored.
func (rs *restore) fail(path, action string, err error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.failed[path] {
		return
	}
	rs.failed[path] = true
	if size, ok := rs.counted[path]; ok { // counted as restored when planned
		rs.stats.Files--
		rs.stats.Bytes -= size
	}
	rs.stats.Failed++
	rs.stats.Items = append(rs.stats.Items, newOutcome(rs.rel(path), action, ResultFailed, err))
	if rs.firstErr == nil {
		rs.firstErr = err
	}
}

func (rs *restore) skip(path string) {
	rs.stats.Skipped++
	rs.stats.Items = append(rs.stats.Items, Outcome{Path: rs.rel(path), Action: "create",
		Result: ResultSkipped, Reason: "already exists"})
}

func (rs *restore) isFailed(path string) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.failed[path]
}

// selected reports whether RestoreOptions.Paths lets path be restored.
func (rs *restore) selected(path string, dir bool) bool {
	if len(rs.opts.Paths) == 0 {
		return true
	}
	rel := filepath.ToSlash(rs.rel(path))
	for _, p := range rs.opts.Paths {
		p = strings.Trim(p, "/")
		if rel == p || strings.HasPrefix(rel, p+"/") || dir && strings.HasPrefix(p, rel+"/") {
			return true
		}
	}
	return false
}

// rel names path relative to the target, as outcomes do.
func (rs *restore) rel(path string) string {
	rel, err := filepath.Rel(rs.target, path)
	if err != nil {
		return path
	}
	return rel
}

// plan creates folders, links and empty files, and lists the chunks to write.
func (rs *restore) plan(ctx context.Context, tree ID, dir string) error {
	t, err := rs.r.LoadTree(ctx, rs.ix, tree)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rs.fail(dir, "read", err)
		return nil
	}
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if !filepath.IsLocal(n.Name) || filepath.Base(n.Name) != n.Name {
			return fmt.Errorf("tree %s: %w: unsafe name %q", tree.Short(), ErrCorrupt, n.Name)
		}
		path := filepath.Join(dir, n.Name)
		if !rs.selected(path, n.Type == NodeDir) {
			continue
		}
		if err := rs.planNode(ctx, path, n); err != nil {
			return err
		}
	}
	return nil
}

func (rs *restore) planNode(ctx context.Context, path string, n *Node) error {
	if n.Links > 1 && n.Type != NodeDir {
		key := [2]uint64{n.Device, n.Inode}
		if first, ok := rs.inode[key]; ok {
			rs.links = append(rs.links, linkItem{from: first, to: path})
			return nil
		}
		rs.inode[key] = path
	}

	act, err := rs.existing(path, n)
	switch {
	case err != nil:
		rs.fail(path, "create", err)
		return nil
	case act == actConflict:
		rs.fail(path, "create", errDiffers)
		return nil
	case act == actSkip:
		rs.skip(path)
		if n.Type == NodeDir {
			return rs.planDir(ctx, path, n)
		}
		return nil
	case act == actKeep:
		rs.stats.Unchanged++
		if n.Type == NodeDir {
			if err := rs.planDir(ctx, path, n); err != nil {
				return err
			}
		}
		rs.meta = append(rs.meta, metaItem{path: path, node: n})
		return nil
	}

	err = rs.openUp(filepath.Dir(path))
	if err == nil {
		err = rs.create(ctx, path, n)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rs.fail(path, "create", err)
		return nil
	}
	rs.meta = append(rs.meta, metaItem{path: path, node: n})
	return nil
}

// create makes a new entry; a file gets its size and its chunks planned.
func (rs *restore) create(ctx context.Context, path string, n *Node) error {
	switch n.Type {
	case NodeDir:
		rs.stats.Dirs++
		if err := os.Mkdir(path, 0o700); err != nil {
			return err
		}
		return rs.planDir(ctx, path, n)
	case NodeFile:
		return rs.planFile(path, n)
	case NodeSymlink:
		return os.Symlink(n.LinkTarget, path)
	default:
		return makeSpecial(path, n)
	}
}

func (rs *restore) planDir(ctx context.Context, path string, n *Node) error {
	if n.Subtree == nil {
		rs.fail(path, "read", fmt.Errorf("%w: folder without a tree", ErrCorrupt))
		return nil
	}
	return rs.plan(ctx, *n.Subtree, path)
}

func (rs *restore) planFile(path string, n *Node) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if n.Size > 0 {
		err = f.Truncate(n.Size)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return err
	}
	rs.stats.Files++
	rs.stats.Bytes += n.Size
	if len(n.Content) == 0 {
		return nil
	}
	rs.counted[path] = n.Size

	file := int32(len(rs.files))
	rs.files = append(rs.files, path)
	var pos int64
	holes := n.Holes
	var targets []chunkTarget
	var packs []indexPack
	for _, id := range n.Content {
		for len(holes) > 0 && holes[0].Offset <= pos {
			pos = max(pos, holes[0].Offset+holes[0].Length)
			holes = holes[1:]
		}
		p, b, ok := rs.ix.Lookup(id)
		if !ok {
			rs.fail(path, "read", fmt.Errorf("chunk %s: %w in the index", id.Short(), ErrNotFound))
			return nil
		}
		packs = append(packs, p)
		targets = append(targets, chunkTarget{blob: b, file: file, offset: pos})
		pos += int64(b.RawLength)
	}
	if pos+holeBytes(holes) != n.Size {
		rs.fail(path, "read", fmt.Errorf("%w: chunks and holes cover %d of %d bytes",
			ErrCorrupt, pos, n.Size))
		return nil
	}
	for i, p := range packs {
		rs.sizes[p.ID] = p
		rs.packs[p.ID] = append(rs.packs[p.ID], targets[i])
	}
	return nil
}

func holeBytes(h []Extent) int64 {
	var n int64
	for _, e := range h {
		n += e.Length
	}
	return n
}

// setMeta applies metadata after all data is written, children before their
// folder, so a folder's times are set after nothing inside it changes and
// its mode after its contents are in place.
func (rs *restore) setMeta() {
	for _, m := range rs.meta {
		if rs.isFailed(m.path) {
			continue
		}
		if err := restoreMeta(m.path, m.node, rs.chown); err != nil {
			rs.fail(m.path, "metadata", err)
		}
	}
}

// errDiffers is the reason an existing entry was left as it was.
var errDiffers = errors.New("exists and differs from the snapshot; " +
	"restore with overwrite or skip-existing")
