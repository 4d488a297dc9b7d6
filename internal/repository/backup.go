package repository

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// BackupOptions tune a backup.
type BackupOptions struct {
	// Parent is the snapshot whose file metadata lets unchanged files skip
	// reading. Nil picks the newest snapshot of the same host and path,
	// when the repository is readable; NoParent turns that off.
	Parent   *Snapshot
	NoParent bool
	Hostname string
	Tags     []string
	// Workers is the number of files read at once; 0 means 2.
	Workers int
	// Progress, when set, is updated while the backup runs.
	Progress *Progress
	// IndexFlushPacks is how many stored packs trigger an index object; an
	// interrupted backup leaves at most this many packs unindexed.
	IndexFlushPacks int
	// FailOnUnreadable makes an entry that cannot be read fail the whole
	// backup, with no snapshot stored. By default the entry is left out,
	// listed in Snapshot.Errors, and the snapshot is PartiallyFailed.
	FailOnUnreadable bool
}

// Progress counts files and bytes as a backup or restore runs.
type Progress struct {
	Files atomic.Int64
	Bytes atomic.Int64
}

// backup is the state of one running backup.
type backup struct {
	r      *Repository
	source string
	ix     *Index
	up     *uploader
	opts   BackupOptions
	jobs   chan *fileJob

	mu       sync.Mutex
	claimed  map[ID]struct{}
	outcomes []Outcome // entries left out

	treeMu   sync.Mutex
	trees    *packer
	rootTree ID
	cancel   context.CancelCauseFunc // records the first failure, then cancels
	failOnce sync.Once
	failed   error

	files, dirs, bytes, newBytes, dataBlobs, treeBlobs, skipped, read atomic.Int64
}

// fileJob asks a worker to read one regular file into its node.
type fileJob struct {
	path string
	node *Node
	fi   fs.FileInfo
	dir  *dirState
}

// Backup stores the folder source as a new snapshot. Several backups may run
// at once, in this process or others, with no lock: each writes its own
// packs, index objects and snapshot.
func (r *Repository) Backup(ctx context.Context, source string,
	o BackupOptions) (*Snapshot, error) {
	source, err := filepath.Abs(source)
	if err != nil {
		return nil, err
	}
	rootInfo, err := os.Lstat(source)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", source, err)
	}
	if !rootInfo.IsDir() {
		return nil, fmt.Errorf("backup %s: not a directory", source)
	}

	sess, err := r.startSession(ctx, o.Hostname)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", source, err)
	}
	snap, err := r.backupSession(ctx, source, rootInfo, sess, o)
	if eerr := r.endSession(ctx, sess); err == nil {
		err = eerr
	}
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", source, err)
	}
	if len(snap.Errors) > 0 {
		first := snap.Errors[0]
		return snap, fmt.Errorf("backup %s: snapshot %s is %s: %w: %d, the first %s: %s: %s",
			source, snap.ID.Short(), StatusPartiallyFailed, ErrIncomplete, len(snap.Errors),
			first.Path, first.Action, first.Reason)
	}
	return snap, nil
}

func (r *Repository) backupSession(ctx context.Context, source string, rootInfo fs.FileInfo,
	sess session, o BackupOptions) (*Snapshot, error) {
	start := sess.Start
	ix, err := r.writerIndex(ctx)
	if err != nil {
		return nil, err
	}
	parent, parentTree := r.backupParent(ctx, ix, source, o)

	b := &backup{r: r, source: source, ix: ix, opts: o, claimed: map[ID]struct{}{},
		up: newUploader(r, ix, o.IndexFlushPacks)}
	b.up.indexed = b.release
	root, tree, err := b.run(ctx, source, rootInfo, parentTree)
	if err != nil {
		return nil, err
	}

	snap := &Snapshot{ID: randomID(), Time: start, Hostname: o.Hostname, Path: source,
		Tags: o.Tags, Root: root, Tree: tree, Session: sess.ID, Summary: b.summary(),
		Errors: b.sortedOutcomes()}
	if parent != nil {
		snap.Parent = &parent.ID
	}
	snap.Summary.Duration = r.clock().Sub(start)
	if h := r.hooks.beforeSnapshot; h != nil {
		h()
	}
	if err := r.saveSnapshot(ctx, snap); err != nil {
		return nil, err
	}
	return snap, nil
}

// backupParent finds the parent snapshot and its tree; any failure only
// means that every file is read again.
func (r *Repository) backupParent(ctx context.Context, ix *Index, source string,
	o BackupOptions) (*Snapshot, *Tree) {
	parent := o.Parent
	if parent == nil && !o.NoParent && r.CanRead() {
		all, err := r.Snapshots(ctx)
		if err == nil {
			for _, s := range all {
				if s.Path == source && s.Hostname == o.Hostname {
					parent = s
				}
			}
		}
	}
	if parent == nil {
		return nil, nil
	}
	t, err := r.LoadTree(ctx, ix, parent.Tree)
	if err != nil {
		return parent, nil
	}
	return parent, t
}

// run walks the tree in one goroutine while workers read files and the
// uploader stores packs.
func (b *backup) run(ctx context.Context, source string, rootInfo fs.FileInfo,
	parent *Tree) (Node, ID, error) {
	workers := b.opts.Workers
	if workers <= 0 {
		workers = 2
	}
	b.jobs = make(chan *fileJob, 64*workers)
	walker := newWorker(b)

	outer, octx := errgroup.WithContext(ctx)
	outer.Go(func() error { return b.up.run(octx) })

	var root Node
	outer.Go(func() error {
		defer close(b.up.queue)
		inner, gctx := errgroup.WithContext(octx)
		ictx, cancel := context.WithCancelCause(gctx)
		defer cancel(nil)
		b.cancel = func(err error) {
			b.failOnce.Do(func() { b.failed = err })
			cancel(err)
		}
		for range workers {
			w := newWorker(b)
			inner.Go(func() error { return w.run(ictx) })
		}
		inner.Go(func() error {
			defer close(b.jobs)
			var err error
			if root, err = nodeFromInfo(source, "", rootInfo); err != nil {
				return err
			}
			d := &dirState{}
			if err := b.walkDir(ictx, walker, source, parent, d); err != nil {
				b.cancel(err)
				return err
			}
			b.done(ictx, walker, d)
			return nil
		})
		if err := inner.Wait(); err != nil {
			return err
		}
		if err := b.failure(); err != nil {
			return err
		}
		return b.flushTrees(octx)
	})

	err := outer.Wait()
	if ferr := b.up.finish(ctx); err == nil {
		err = ferr
	}
	return root, b.rootTree, err
}

// failure returns the first error that stopped the backup.
func (b *backup) failure() error {
	b.failOnce.Do(func() {})
	return b.failed
}

// dirState is a folder whose tree is stored once its files and subfolders
// are done. pending counts those, plus one for the walker while it lists
// the folder; whoever brings it to zero stores the tree and passes the id up.
// The atomic counter orders every write to nodes before the tree is encoded.
type dirState struct {
	nodes   []Node
	pending atomic.Int64
	parent  *dirState
	slot    *Node // the parent's node that gets the subtree id
}

// done marks one part of d finished and stores the trees that completes.
func (b *backup) done(ctx context.Context, w *worker, d *dirState) {
	for d != nil && d.pending.Add(-1) == 0 {
		if ctx.Err() != nil {
			return
		}
		nodes := slices.DeleteFunc(d.nodes, func(n Node) bool { return n.omit })
		id, err := b.saveTree(ctx, w, &Tree{Nodes: nodes})
		if err != nil {
			b.cancel(err)
			return
		}
		if d.slot == nil {
			b.rootTree = id
		} else {
			d.slot.Subtree = &id
		}
		d = d.parent
	}
}

// walkDir lists one folder, queues its files for the workers and walks its
// subfolders, without waiting for any file.
func (b *backup) walkDir(ctx context.Context, w *worker, dir string, parent *Tree,
	d *dirState) error {
	d.pending.Store(1)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if d.slot == nil {
			return err // the folder backed up itself
		}
		if err := b.unreadable(dir, "readdir", err); err != nil {
			return err
		}
	}
	d.nodes = make([]Node, 0, len(entries))
	for _, e := range entries {
		if err := context.Cause(ctx); err != nil {
			return err
		}
		path := filepath.Join(dir, e.Name())
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			b.skipped.Add(1) // removed since listed
			continue
		}
		if err != nil {
			if err := b.unreadable(path, "lstat", err); err != nil {
				return err
			}
			continue
		}
		n, err := nodeFromInfo(path, e.Name(), fi)
		if err != nil {
			if err := b.unreadable(path, actionOf(err, "xattr"), err); err != nil {
				return err
			}
			continue
		}
		d.nodes = append(d.nodes, n) // capacity is enough: never moves
		if err := b.walkNode(ctx, w, path, fi, parent, d, &d.nodes[len(d.nodes)-1]); err != nil {
			return err
		}
	}
	return nil
}

func (b *backup) walkNode(ctx context.Context, w *worker, path string, fi fs.FileInfo,
	parent *Tree, d *dirState, n *Node) error {
	switch n.Type {
	case NodeDir:
		b.dirs.Add(1)
		sub := &dirState{parent: d, slot: n}
		d.pending.Add(1)
		if err := b.walkDir(ctx, w, path, b.parentSubtree(ctx, parent, n.Name), sub); err != nil {
			return err
		}
		b.done(ctx, w, sub)
	case NodeFile:
		b.files.Add(1)
		b.bytes.Add(n.Size)
		if b.reuse(n, findNode(parent, n.Name)) {
			b.progress(n.Size)
			return nil
		}
		d.pending.Add(1)
		select {
		case b.jobs <- &fileJob{path: path, node: n, fi: fi, dir: d}:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return nil
}

// reuse copies the content list of an unchanged file from the parent
// snapshot: same size, mtime, ctime and inode, and all chunks still usable.
func (b *backup) reuse(n, old *Node) bool {
	if old == nil || old.Type != NodeFile || old.Size != n.Size || old.MTime != n.MTime ||
		old.CTime != n.CTime || old.Inode != n.Inode {
		return false
	}
	for _, id := range old.Content {
		if !b.ix.Has(id) {
			return false
		}
	}
	n.Content, n.Holes = old.Content, old.Holes
	return true
}

func findNode(t *Tree, name string) *Node {
	if t == nil {
		return nil
	}
	i := sort.Search(len(t.Nodes), func(i int) bool { return t.Nodes[i].Name >= name })
	if i < len(t.Nodes) && t.Nodes[i].Name == name {
		return &t.Nodes[i]
	}
	return nil
}

func (b *backup) parentSubtree(ctx context.Context, parent *Tree, name string) *Tree {
	old := findNode(parent, name)
	if old == nil || old.Subtree == nil {
		return nil
	}
	t, err := b.r.LoadTree(ctx, b.ix, *old.Subtree)
	if err != nil {
		return nil // without a parent, files are read again
	}
	return t
}

// claim reports whether the caller should store the blob: it is neither in
// the index nor being stored by another worker. A claim lasts until the
// blob's pack is indexed (see release), so claimed holds only the blobs in
// flight; the index is asked again under the lock because release runs
// after the index has the blob.
func (b *backup) claim(id ID) bool {
	if b.ix.Has(id) {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.claimed[id]; ok || b.ix.Has(id) {
		return false
	}
	b.claimed[id] = struct{}{}
	return true
}

// release drops the claims of a stored and indexed pack's blobs.
func (b *backup) release(p indexPack) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, bl := range p.Blobs {
		delete(b.claimed, bl.ID)
	}
}

// saveTree stores a tree blob unless it is known. Workers and the walker
// all store trees, so the tree pack is shared under a lock.
func (b *backup) saveTree(ctx context.Context, w *worker, t *Tree) (ID, error) {
	data, err := encodeTree(t)
	if err != nil {
		return ID{}, err
	}
	id := w.hash(data)
	if !b.claim(id) {
		return id, nil
	}
	b.treeBlobs.Add(1)
	stored, comp := w.compress(data)

	b.treeMu.Lock()
	var full *packer
	if b.trees != nil && !b.trees.fits(len(stored), b.r.cfg.PackSize) {
		full, b.trees = b.trees, nil
	}
	if b.trees == nil {
		b.trees = newPacker(TreeBlob, b.up.buffer())
	}
	b.trees.add(id, stored, len(data), comp)
	b.treeMu.Unlock()
	if full != nil {
		return id, b.up.send(ctx, full)
	}
	return id, nil
}

func (b *backup) flushTrees(ctx context.Context) error {
	b.treeMu.Lock()
	p := b.trees
	b.trees = nil
	b.treeMu.Unlock()
	if p == nil {
		return nil
	}
	return b.up.send(ctx, p)
}

func (b *backup) progress(n int64) {
	if p := b.opts.Progress; p != nil {
		p.Files.Add(1)
		p.Bytes.Add(n)
	}
}

func (b *backup) summary() Summary {
	return Summary{
		Files: b.files.Load(), Dirs: b.dirs.Load(), Bytes: b.bytes.Load(),
		NewBytes: b.newBytes.Load(), StoredBytes: b.up.stored.Load(),
		DataBlobs: b.dataBlobs.Load(), TreeBlobs: b.treeBlobs.Load(),
		Packs: b.up.packs.Load(), Skipped: b.skipped.Load(), FilesRead: b.read.Load(),
	}
}
