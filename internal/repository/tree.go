package repository

import (
	"context"
	"encoding/json"
	"fmt"
)

// NodeType is the kind of a file system entry.
type NodeType string

// The node types a tree records.
const (
	NodeFile    NodeType = "file"
	NodeDir     NodeType = "dir"
	NodeSymlink NodeType = "symlink"
	NodeFIFO    NodeType = "fifo"
	NodeSocket  NodeType = "socket"
	NodeChar    NodeType = "chardev"
	NodeBlock   NodeType = "blockdev"
)

// Node is one entry of a directory with its metadata. Times are nanoseconds
// since the Unix epoch. Content lists the chunks of a regular file in order;
// they fill the file from offset 0, skipping the Holes, which stay unwritten
// on restore so sparse files stay sparse.
type Node struct {
	Name       string   `json:"name"`
	Type       NodeType `json:"type"`
	Mode       uint32   `json:"mode"` // permission, setuid, setgid and sticky bits
	UID        uint32   `json:"uid"`
	GID        uint32   `json:"gid"`
	Size       int64    `json:"size,omitempty"`
	MTime      int64    `json:"mtime"`
	ATime      int64    `json:"atime"`
	CTime      int64    `json:"ctime"`
	Inode      uint64   `json:"inode,omitempty"`
	Device     uint64   `json:"device,omitempty"`
	Links      uint64   `json:"links,omitempty"`
	Rdev       uint64   `json:"rdev,omitempty"`
	LinkTarget string   `json:"linkTarget,omitempty"`
	Xattrs     []Xattr  `json:"xattrs,omitempty"`
	Content    []ID     `json:"content,omitempty"`
	Holes      []Extent `json:"holes,omitempty"`
	Subtree    *ID      `json:"subtree,omitempty"`

	omit bool // a backup could not read it: left out of the tree
}

// Xattr is one extended attribute.
type Xattr struct {
	Name  string `json:"name"`
	Value []byte `json:"value"`
}

// Extent is a byte range of a file.
type Extent struct {
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
}

// Tree is the listing of one directory, sorted by name.
type Tree struct {
	Nodes []Node `json:"nodes"`
}

func encodeTree(t *Tree) ([]byte, error) {
	data, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("encode tree: %w", err)
	}
	return data, nil
}

// LoadTree reads a tree blob.
func (r *Repository) LoadTree(ctx context.Context, ix *Index, id ID) (*Tree, error) {
	data, err := r.loadBlob(ctx, ix, id)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", id.Short(), err)
	}
	var t Tree
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("tree %s: %w: %w", id.Short(), ErrCorrupt, err)
	}
	return &t, nil
}

// walkTrees calls fn for every tree reachable from root, each once.
func (r *Repository) walkTrees(ctx context.Context, ix *Index, root ID, seen map[ID]bool,
	fn func(id ID, t *Tree) error) error {
	if seen[root] {
		return nil
	}
	seen[root] = true
	t, err := r.LoadTree(ctx, ix, root)
	if err != nil {
		return err
	}
	if err := fn(root, t); err != nil {
		return err
	}
	for i := range t.Nodes {
		if sub := t.Nodes[i].Subtree; sub != nil {
			if err := r.walkTrees(ctx, ix, *sub, seen, fn); err != nil {
				return err
			}
		}
	}
	return nil
}
