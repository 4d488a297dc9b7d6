package repository

import (
	"context"
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
// new snapshots must not refer to blobs that may be deleted.
func (r *Repository) writerIndex(ctx context.Context) (*Index, error) {
	condemned, err := r.condemnedPacks(ctx)
	if err != nil {
		return nil, err
	}
	objs, err := r.loadIndexObjects(ctx)
	if err != nil {
		return nil, err
	}
	return buildIndex(objs, condemned), nil
}

// readerIndex loads the whole index, but places each blob in a pack that no
// prune has condemned whenever one holds it. A sweep deletes a condemned
// pack only when every used blob in it has a copy elsewhere, so a reader
// that took the condemned copy could lose it halfway through; the copy
// elsewhere is safe while the reader's session is live.
func (r *Repository) readerIndex(ctx context.Context) (*Index, error) {
	condemned, err := r.condemnedPacks(ctx)
	if err != nil {
		return nil, err
	}
	objs, err := r.loadIndexObjects(ctx)
	if err != nil {
		return nil, err
	}
	ix := buildIndex(objs, condemned)
	for _, o := range objs {
		for _, p := range o.Packs {
			if condemned[p.ID] {
				ix.add(p)
			}
		}
	}
	return ix, nil
}
