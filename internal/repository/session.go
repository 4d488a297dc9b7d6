package repository

import (
	"context"
	"fmt"
	"maps"
	"time"
)

// startSession records that a backup or restore begins. It must be stored
// before the index and marks are read: prune sweeps no mark made after a
// live session started, so whatever the session reads stays readable.
func (r *Repository) startSession(ctx context.Context, hostname string) (session, error) {
	s := session{ID: randomID(), Start: r.clock().UTC(), Hostname: hostname}
	return s, r.putSealed(ctx, dirSessions+s.ID.String(), s)
}

// endSession records that a backup or restore stopped, whether it succeeded
// or not, so prune need not wait for it. Sessions are never rewritten: the
// end is a second object.
func (r *Repository) endSession(ctx context.Context, s session) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	s.Ended = true
	return r.putSealed(ctx, dirSessions+s.ID.String()+endSuffix, s)
}

// condemnedPacks reads the prune marks and returns the packs they condemn.
func (r *Repository) condemnedPacks(ctx context.Context) (map[ID]bool, error) {
	marks, err := r.loadMarks(ctx)
	if err != nil {
		return nil, err
	}
	condemned := map[ID]bool{}
	for _, m := range marks {
		for _, p := range m.Packs {
			condemned[p] = true
		}
	}
	return condemned, nil
}

// writerIndex loads the index without the packs that a prune condemned:
// new snapshots must not refer to blobs that may be deleted. It leaves out
// damaged packs too, so that a backup stores their blobs again instead of
// referring to data that is gone.
func (r *Repository) writerIndex(ctx context.Context) (*Index, error) {
	condemned, err := r.condemnedPacks(ctx)
	if err != nil {
		return nil, err
	}
	objs, err := r.loadIndexObjects(ctx)
	if err != nil {
		return nil, err
	}
	damaged, err := r.damagedPacks(ctx, objs)
	if err != nil {
		return nil, err
	}
	maps.Copy(damaged, condemned)
	return buildIndex(objs, damaged), nil
}

// readerIndex loads the whole index, but places each blob in a pack that no
// prune has condemned whenever one holds it. A sweep deletes a condemned
// pack only when every used blob in it has a copy elsewhere, so a reader
// that took the condemned copy could lose it halfway through; the copy
// elsewhere is safe while the reader's session is live. Damaged packs come
// last: a blob stored again after the damage is read from its new pack.
func (r *Repository) readerIndex(ctx context.Context) (*Index, error) {
	condemned, err := r.condemnedPacks(ctx)
	if err != nil {
		return nil, err
	}
	objs, err := r.loadIndexObjects(ctx)
	if err != nil {
		return nil, err
	}
	damaged, err := r.damagedPacks(ctx, objs)
	if err != nil {
		return nil, err
	}
	skip := maps.Clone(damaged)
	maps.Copy(skip, condemned)
	ix := buildIndex(objs, skip)
	for _, later := range []map[ID]bool{condemned, damaged} {
		for _, o := range objs {
			for _, p := range o.Packs {
				if later[p.ID] {
					ix.add(p)
				}
			}
		}
	}
	return ix, nil
}

// damagedPacks lists the stored packs and returns the indexed ones that are
// missing or whose size is not the indexed one: deleted or truncated in
// storage. It costs one listing of data/, about one request per thousand
// packs; the index is read before, so a pack indexed since is listed too.
// Damage that keeps the size is found only by reading (check --read-data).
func (r *Repository) damagedPacks(ctx context.Context, objs []indexObject) (map[ID]bool, error) {
	stored, err := listObjects(ctx, r.bucket, dirData)
	if err != nil {
		return nil, fmt.Errorf("list packs: %w", err)
	}
	sizes := make(map[ID]int64, len(stored))
	for _, o := range stored {
		if id, err := ParseID(o.Name); err == nil {
			sizes[id] = o.Size
		}
	}
	damaged := map[ID]bool{}
	for _, o := range objs {
		for _, p := range o.Packs {
			if size, ok := sizes[p.ID]; !ok || size != p.Size {
				damaged[p.ID] = true
			}
		}
	}
	return damaged, nil
}
