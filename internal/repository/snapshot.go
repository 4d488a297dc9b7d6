package repository

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Snapshot records one backup of a folder.
type Snapshot struct {
	ID       ID        `json:"id"`
	Time     time.Time `json:"time"`
	Hostname string    `json:"hostname,omitempty"`
	Path     string    `json:"path"`
	Tags     []string  `json:"tags,omitempty"`
	// Root is the metadata of the backed-up folder itself; Tree its listing.
	Root    Node    `json:"root"`
	Tree    ID      `json:"tree"`
	Parent  *ID     `json:"parent,omitempty"`
	Session ID      `json:"session"`
	Summary Summary `json:"summary"`
	// Errors lists the entries the backup could not read and left out.
	Errors []Outcome `json:"errors,omitempty"`
}

// The statuses of a snapshot.
const (
	StatusCompleted       = "Completed"
	StatusPartiallyFailed = "PartiallyFailed"
)

// Status is StatusCompleted, or StatusPartiallyFailed when the backup left
// out entries it could not read.
func (s *Snapshot) Status() string {
	if len(s.Errors) > 0 {
		return StatusPartiallyFailed
	}
	return StatusCompleted
}

// Summary counts what a backup saw and added.
type Summary struct {
	Files       int64 `json:"files"`
	Dirs        int64 `json:"dirs"`
	Bytes       int64 `json:"bytes"`
	NewBytes    int64 `json:"newBytes"`
	StoredBytes int64 `json:"storedBytes"`
	DataBlobs   int64 `json:"dataBlobs"`
	TreeBlobs   int64 `json:"treeBlobs"`
	Packs       int64 `json:"packs"`
	Skipped     int64 `json:"skipped"`
	// FilesRead counts files whose content was read: new or changed since
	// the parent snapshot.
	FilesRead int64         `json:"filesRead"`
	Duration  time.Duration `json:"duration"`
}

// saveSnapshot encrypts the snapshot to the data recipient: a writer cannot
// read file names back, not even of its own snapshots.
func (r *Repository) saveSnapshot(ctx context.Context, s *Snapshot) error {
	plain, err := json.Marshal(s)
	if err != nil {
		return err
	}
	data, err := ageEncrypt(plain, r.dataTo)
	if err != nil {
		return fmt.Errorf("encrypt snapshot: %w", err)
	}
	return put(ctx, r.bucket, dirSnapshots+s.ID.String(), data)
}

// LoadSnapshot reads one snapshot by its full id.
func (r *Repository) LoadSnapshot(ctx context.Context, id ID) (*Snapshot, error) {
	if err := r.needRead(); err != nil {
		return nil, err
	}
	key := dirSnapshots + id.String()
	data, err := r.bucket.ReadAll(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", id.Short(), notFound(err))
	}
	plain, err := ageDecrypt(data, r.readers...)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w: %w", id.Short(), ErrCorrupt, err)
	}
	var s Snapshot
	if err := json.Unmarshal(plain, &s); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w: %w", id.Short(), ErrCorrupt, err)
	}
	if s.ID != id {
		return nil, fmt.Errorf("snapshot %s: %w: it names itself %s", id.Short(), ErrCorrupt, s.ID)
	}
	return &s, nil
}

// SnapshotIDs lists the ids of all snapshots; it needs no reading key.
func (r *Repository) SnapshotIDs(ctx context.Context) ([]ID, error) {
	list, err := listObjects(ctx, r.bucket, dirSnapshots)
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	ids := make([]ID, 0, len(list))
	for _, o := range list {
		id, err := ParseID(o.Name)
		if err != nil {
			return nil, fmt.Errorf("snapshot object %s: %w", o.Key, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Snapshots reads all snapshots, oldest first.
func (r *Repository) Snapshots(ctx context.Context) ([]*Snapshot, error) {
	ids, err := r.SnapshotIDs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*Snapshot, 0, len(ids))
	for _, id := range ids {
		s, err := r.LoadSnapshot(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue // forgotten while listing
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *Snapshot) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// FindSnapshot resolves "latest" or a unique prefix of a snapshot id.
func (r *Repository) FindSnapshot(ctx context.Context, ref string) (*Snapshot, error) {
	if ref == "latest" {
		all, err := r.Snapshots(ctx)
		if err != nil {
			return nil, err
		}
		if len(all) == 0 {
			return nil, fmt.Errorf("snapshot latest: %w", ErrNotFound)
		}
		return all[len(all)-1], nil
	}
	ids, err := r.SnapshotIDs(ctx)
	if err != nil {
		return nil, err
	}
	var match []ID
	for _, id := range ids {
		if strings.HasPrefix(id.String(), strings.ToLower(ref)) {
			match = append(match, id)
		}
	}
	switch {
	case len(match) == 0 || ref == "":
		return nil, fmt.Errorf("snapshot %q: %w", ref, ErrNotFound)
	case len(match) > 1:
		return nil, fmt.Errorf("snapshot %q: prefix matches %d snapshots", ref, len(match))
	}
	return r.LoadSnapshot(ctx, match[0])
}

// Forget deletes snapshots. Their data stays until prune finds it unused.
func (r *Repository) Forget(ctx context.Context, ids ...ID) error {
	for _, id := range ids {
		if err := r.bucket.Delete(ctx, dirSnapshots+id.String()); err != nil {
			return fmt.Errorf("forget snapshot %s: %w", id.Short(), notFound(err))
		}
	}
	return nil
}

// session marks a backup in progress. It is written before the backup reads
// the index, and the snapshot names it, so prune can tell which backups may
// still refer to blobs it wants to delete.
type session struct {
	ID       ID        `json:"id"`
	Start    time.Time `json:"start"`
	Hostname string    `json:"hostname,omitempty"`
	Ended    bool      `json:"ended,omitempty"`
}

// endSuffix names the object that records a session's end.
const endSuffix = "-end"

// mark condemns packs. Its sweep, in a later prune, deletes those still unused.
type mark struct {
	ID      ID        `json:"id"`
	Created time.Time `json:"created"`
	Packs   []ID      `json:"packs"`
}
