package repository

import (
	"cmp"
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sync/errgroup"
)

// RestoreOptions tune a restore.
type RestoreOptions struct {
	// Workers is how many packs are read at once; 0 means 4.
	Workers int
	// Progress, when set, is updated while the restore runs.
	Progress *Progress
}

// RestoreStats counts what a restore wrote.
type RestoreStats struct {
	Files int64 `json:"files"`
	Dirs  int64 `json:"dirs"`
	Bytes int64 `json:"bytes"`
}

// restore is the plan and state of one restore.
type restore struct {
	r     *Repository
	ix    *Index
	opts  RestoreOptions
	stats RestoreStats

	files []string             // paths of regular files with content
	packs map[ID][]chunkTarget // what to write from each pack
	links [][2]string          // hard links to make: old name, new name
	inode map[[2]uint64]string // first path of each hard-linked inode
	meta  []metaItem           // entries whose metadata is set at the end
	sizes map[ID]indexPack     // pack sizes
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

// Restore writes the snapshot's folder to target, which must be empty or
// missing. Files are created first, then packs are read in parallel and each
// chunk is written where it belongs with WriteAt, in whatever order packs
// arrive; holes are never written, so sparse files stay sparse. Every chunk
// is authenticated and its id checked, and corrupt data stops the restore.
//
// A restore records a session, as a backup does, so that a prune running
// meanwhile deletes none of the packs it reads. Where the session cannot be
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
	rs := &restore{r: r, ix: ix, opts: o, packs: map[ID][]chunkTarget{},
		inode: map[[2]uint64]string{}, sizes: map[ID]indexPack{}}
	if err := rs.run(ctx, snap, target); err != nil {
		return nil, fmt.Errorf("restore %s to %s: %w", snap.ID.Short(), target, err)
	}
	return &rs.stats, nil
}

func (rs *restore) run(ctx context.Context, snap *Snapshot, target string) error {
	if err := os.MkdirAll(target, 0o700); err != nil {
		return err
	}
	if ents, err := os.ReadDir(target); err != nil {
		return err
	} else if len(ents) > 0 {
		return errors.New("target folder is not empty")
	}
	if err := rs.plan(ctx, snap.Tree, target); err != nil {
		return err
	}
	if err := rs.writeData(ctx); err != nil {
		return err
	}
	for _, l := range rs.links {
		if err := os.Link(l[0], l[1]); err != nil {
			return err
		}
	}
	return rs.setMeta(snap, target)
}

// plan creates folders, links and empty files, and lists the chunks to write.
func (rs *restore) plan(ctx context.Context, tree ID, dir string) error {
	t, err := rs.r.LoadTree(ctx, rs.ix, tree)
	if err != nil {
		return err
	}
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if !filepath.IsLocal(n.Name) || filepath.Base(n.Name) != n.Name {
			return fmt.Errorf("tree %s: %w: unsafe name %q", tree.Short(), ErrCorrupt, n.Name)
		}
		path := filepath.Join(dir, n.Name)
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
			rs.links = append(rs.links, [2]string{first, path})
			return nil
		}
		rs.inode[key] = path
	}

	switch n.Type {
	case NodeDir:
		rs.stats.Dirs++
		if err := os.Mkdir(path, 0o700); err != nil {
			return err
		}
		if n.Subtree == nil {
			return fmt.Errorf("%s: %w: folder without a tree", path, ErrCorrupt)
		}
		if err := rs.plan(ctx, *n.Subtree, path); err != nil {
			return err
		}
	case NodeFile:
		if err := rs.planFile(path, n); err != nil {
			return err
		}
	case NodeSymlink:
		if err := os.Symlink(n.LinkTarget, path); err != nil {
			return err
		}
	default:
		if err := makeSpecial(path, n); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	rs.meta = append(rs.meta, metaItem{path: path, node: n})
	return nil
}

func (rs *restore) planFile(path string, n *Node) error {
	rs.stats.Files++
	rs.stats.Bytes += n.Size
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
	if err != nil || len(n.Content) == 0 {
		return err
	}

	file := int32(len(rs.files))
	rs.files = append(rs.files, path)
	var pos int64
	holes := n.Holes
	for _, id := range n.Content {
		for len(holes) > 0 && holes[0].Offset <= pos {
			pos = max(pos, holes[0].Offset+holes[0].Length)
			holes = holes[1:]
		}
		p, b, ok := rs.ix.Lookup(id)
		if !ok {
			return fmt.Errorf("%s: chunk %s: %w in the index", path, id.Short(), ErrNotFound)
		}
		rs.sizes[p.ID] = p
		rs.packs[p.ID] = append(rs.packs[p.ID], chunkTarget{blob: b, file: file, offset: pos})
		pos += int64(b.RawLength)
	}
	if pos+holeBytes(holes) != n.Size {
		return fmt.Errorf("%s: %w: chunks and holes cover %d of %d bytes", path, ErrCorrupt,
			pos, n.Size)
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

// writeData reads every needed pack once, in parallel.
func (rs *restore) writeData(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(rs.opts.Workers)
	for id, targets := range rs.packs {
		g.Go(func() error { return rs.writePack(ctx, rs.sizes[id], targets) })
	}
	return g.Wait()
}

func (rs *restore) writePack(ctx context.Context, p indexPack, targets []chunkTarget) error {
	aead, err := rs.r.packAEAD(ctx, p)
	if err != nil {
		return err
	}
	slices.SortFunc(targets, func(a, b chunkTarget) int {
		return cmp.Compare(a.blob.Offset, b.blob.Offset)
	})
	start := int64(targets[0].blob.Offset)
	last := targets[len(targets)-1].blob
	rd, err := rs.r.bucket.NewRangeReader(ctx, packKey(p.ID), start,
		int64(last.Offset)+int64(last.Length)-start, nil)
	if err != nil {
		return fmt.Errorf("read pack %s: %w", p.ID.Short(), notFound(err))
	}
	defer rd.Close()

	pos := start
	var sealed, plain []byte
	for i := 0; i < len(targets); {
		b := targets[i].blob
		if gap := int64(b.Offset) - pos; gap > 0 {
			if _, err := io.CopyN(io.Discard, rd, gap); err != nil {
				return fmt.Errorf("read pack %s: %w", p.ID.Short(), err)
			}
		}
		sealed = slices.Grow(sealed[:0], int(b.Length))[:b.Length]
		if _, err := io.ReadFull(rd, sealed); err != nil {
			return fmt.Errorf("read pack %s: %w", p.ID.Short(), err)
		}
		pos = int64(b.Offset) + int64(b.Length)
		if plain, err = rs.decode(aead, b, sealed, plain); err != nil {
			return fmt.Errorf("pack %s: %w", p.ID.Short(), err)
		}
		for ; i < len(targets) && targets[i].blob.ID == b.ID; i++ {
			if err := rs.writeAt(targets[i], plain); err != nil {
				return err
			}
		}
	}
	return nil
}

func (rs *restore) decode(aead cipher.AEAD, b Blob, sealed, buf []byte) ([]byte, error) {
	return rs.r.decodeBlob(aead, b, sealed, buf)
}

func (rs *restore) writeAt(t chunkTarget, data []byte) error {
	f, err := os.OpenFile(rs.files[t.file], os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(data, t.offset)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if p := rs.opts.Progress; p != nil {
		p.Bytes.Add(int64(len(data)))
	}
	return err
}

// setMeta applies metadata after all data is written, children before their
// folder, so a folder's times are set after nothing inside it changes.
func (rs *restore) setMeta(snap *Snapshot, target string) error {
	chown := os.Geteuid() == 0
	for _, m := range rs.meta { // children come before their folder
		if err := restoreMeta(m.path, m.node, chown); err != nil {
			return fmt.Errorf("%s: %w", m.path, err)
		}
	}
	if err := restoreMeta(target, &snap.Root, chown); err != nil {
		return fmt.Errorf("%s: %w", target, err)
	}
	return nil
}
