package repository

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gocloud.dev/gcerrors"
	"golang.org/x/sync/errgroup"

	"github.com/cairn-backup/cairn/internal/location"
)

// PruneOptions tune a prune.
type PruneOptions struct {
	// MaxUnused is the fraction of unused bytes above which a pack that is
	// still partly used is repacked; 0 means 0.2.
	MaxUnused float64
	// SessionTimeout is how long a backup without a snapshot counts as
	// running; older ones are taken to have died. 0 means 24 hours.
	SessionTimeout time.Duration
	// Margin widens "started before the mark" to cover clock and listing
	// lag between writers; 0 means one minute.
	Margin time.Duration
}

func (o PruneOptions) withDefaults() PruneOptions {
	if o.MaxUnused == 0 {
		o.MaxUnused = 0.2
	}
	if o.SessionTimeout == 0 {
		o.SessionTimeout = 24 * time.Hour
	}
	if o.Margin == 0 {
		o.Margin = time.Minute
	}
	return o
}

// PruneReport says what a prune did.
type PruneReport struct {
	Snapshots    int   `json:"snapshots"`
	UsedBlobs    int   `json:"usedBlobs"`
	MarksSwept   int   `json:"marksSwept"`
	MarksWaiting int   `json:"marksWaiting"`
	PacksDeleted int   `json:"packsDeleted"`
	BytesDeleted int64 `json:"bytesDeleted"`
	PacksRescued int   `json:"packsRescued"`
	// PacksForgotten counts indexed packs that were not stored, which the
	// index no longer names.
	PacksForgotten  int   `json:"packsForgotten"`
	PacksCondemned  int   `json:"packsCondemned"`
	BytesCondemned  int64 `json:"bytesCondemned"`
	PacksRepacked   int   `json:"packsRepacked"`
	BlobsRepacked   int   `json:"blobsRepacked"`
	SessionsRemoved int   `json:"sessionsRemoved"`
	// TempFilesRemoved counts the temporary files that writers killed
	// while writing left in a folder, removed once older than the session
	// timeout.
	TempFilesRemoved int `json:"tempFilesRemoved"`
}

// pruneState is what one prune read from the repository.
type pruneState struct {
	opts      PruneOptions
	sessions  []stored[session]
	marks     []stored[mark]
	snapshots []*Snapshot
	index     []indexObject
	packs     map[ID]object // every pack object in storage
	used      map[ID]bool
}

// stored is a metadata object with the time storage recorded for it.
type stored[T any] struct {
	Key     string
	ModTime time.Time
	Value   T
}

// Prune frees the space of data no snapshot uses, in two phases so that
// backups running meanwhile lose nothing. The sweep phase deletes packs
// condemned by an earlier prune, once every backup that started before the
// condemnation has finished or timed out, and keeps any pack that a snapshot
// written since still needs. The mark phase condemns unused packs, after
// copying the used blobs of mostly unused ones into new packs. Backups never
// deduplicate against condemned packs. Space is therefore freed by the prune
// after the one that found it unused. Only one prune runs at a time.
func (r *Repository) Prune(ctx context.Context, o PruneOptions) (*PruneReport, error) {
	if err := r.needRead(); err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	o = o.withDefaults()
	if err := r.lockPrune(ctx); err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	defer r.unlockPrune(ctx)

	st, err := r.readPruneState(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	rep := &PruneReport{Snapshots: len(st.snapshots), UsedBlobs: len(st.used)}
	if err := r.sweep(ctx, st, rep); err != nil {
		return rep, fmt.Errorf("prune: sweep: %w", err)
	}
	if err := r.markUnused(ctx, st, rep); err != nil {
		return rep, fmt.Errorf("prune: mark: %w", err)
	}
	if err := r.removeSessions(ctx, st, rep); err != nil {
		return rep, fmt.Errorf("prune: %w", err)
	}
	if r.loc != nil { // what killed writers left in a folder
		n, err := r.loc.RemoveStaleTemp(ctx, "", st.opts.SessionTimeout)
		rep.TempFilesRemoved = n
		if err != nil {
			return rep, fmt.Errorf("prune: %w", err)
		}
	}
	return rep, nil
}

// readPruneState reads sessions before snapshots: a backup that finishes in
// between is then seen with its snapshot, never as neither.
func (r *Repository) readPruneState(ctx context.Context, o PruneOptions) (*pruneState, error) {
	st := &pruneState{opts: o, used: map[ID]bool{}, packs: map[ID]object{}}
	var err error
	if st.sessions, err = loadSealedDir[session](ctx, r, dirSessions); err != nil {
		return nil, err
	}
	if st.marks, err = loadSealedDir[mark](ctx, r, dirMarks); err != nil {
		return nil, err
	}
	if st.snapshots, err = r.Snapshots(ctx); err != nil {
		return nil, err
	}
	if st.index, err = r.loadIndexObjects(ctx); err != nil {
		return nil, err
	}
	list, err := listObjects(ctx, r.bucket, dirData)
	if err != nil {
		return nil, fmt.Errorf("list packs: %w", err)
	}
	for _, p := range list {
		if id, err := ParseID(p.Name); err == nil {
			st.packs[id] = p
		}
	}

	ix := buildIndex(st.index, nil)
	seen := map[ID]bool{}
	for _, s := range st.snapshots {
		st.used[s.Tree] = true
		err := r.walkTrees(ctx, ix, s.Tree, seen, func(id ID, t *Tree) error {
			st.used[id] = true
			for i := range t.Nodes {
				for _, c := range t.Nodes[i].Content {
					st.used[c] = true
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", s.ID.Short(), err)
		}
	}
	return st, nil
}

// live reports whether a session may still be writing: it has recorded no
// end, no snapshot names it, and it has not timed out.
func (st *pruneState) live(s stored[session], now time.Time) bool {
	if s.Value.Ended {
		return false
	}
	for _, e := range st.sessions {
		if e.Value.Ended && e.Value.ID == s.Value.ID {
			return false
		}
	}
	for _, snap := range st.snapshots {
		if snap.Session == s.Value.ID {
			return false
		}
	}
	return now.Sub(s.ModTime) < st.opts.SessionTimeout
}

// sweepable reports whether no live session started before the mark.
func (st *pruneState) sweepable(m stored[mark], now time.Time) bool {
	for _, s := range st.sessions {
		if !s.ModTime.After(m.ModTime.Add(st.opts.Margin)) && st.live(s, now) {
			return false
		}
	}
	return true
}

// loadMarks reads the marks of condemned packs.
func (r *Repository) loadMarks(ctx context.Context) ([]mark, error) {
	all, err := loadSealedDir[mark](ctx, r, dirMarks)
	if err != nil {
		return nil, err
	}
	out := make([]mark, len(all))
	for i, m := range all {
		out[i] = m.Value
	}
	return out, nil
}

// loadSealedDir reads every sealed JSON object under dir. Objects deleted
// while listing are skipped.
func loadSealedDir[T any](ctx context.Context, r *Repository, dir string) ([]stored[T], error) {
	list, err := listObjects(ctx, r.bucket, dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	out := make([]stored[T], 0, len(list))
	for _, o := range list {
		var v T
		if err := r.getSealed(ctx, o.Key, &v); err != nil {
			if errors.Is(err, ErrNotFound) {
				continue
			}
			return nil, err
		}
		out = append(out, stored[T]{Key: o.Key, ModTime: o.ModTime, Value: v})
	}
	return out, nil
}

// lockPrune takes the prune lock. Backups never take it; it only keeps two
// prunes from rewriting the index at once. A lock older than an hour is
// taken to be left by a prune that died.
func (r *Repository) lockPrune(ctx context.Context) error {
	for range 2 {
		err := r.createLock(ctx)
		if err == nil {
			return nil
		}
		if gcerrors.Code(err) != gcerrors.FailedPrecondition && !errors.Is(err, location.ErrExists) {
			return err
		}
		attrs, aerr := r.bucket.Attributes(ctx, objPruneLock)
		if aerr != nil {
			return ErrPruneRunning
		}
		if age := r.clock().Sub(attrs.ModTime); age < time.Hour {
			return fmt.Errorf("%w: its lock %s is %s old; a lock older than an hour is "+
				"taken as left by a prune that stopped", ErrPruneRunning, objPruneLock,
				age.Round(time.Second))
		}
		if err := r.bucket.Delete(ctx, objPruneLock); err != nil {
			return err
		}
	}
	return ErrPruneRunning
}

// createLock writes the prune lock unless it exists, through the location
// when the repository knows it.
func (r *Repository) createLock(ctx context.Context) error {
	v := session{ID: randomID(), Start: r.clock().UTC()}
	if r.loc == nil {
		return r.putSealed(ctx, objPruneLock, v)
	}
	data, err := r.sealJSON(objPruneLock, v)
	if err != nil {
		return err
	}
	return r.loc.PutIfAbsent(ctx, objPruneLock, data)
}

func (r *Repository) unlockPrune(ctx context.Context) {
	_ = r.bucket.Delete(context.WithoutCancel(ctx), objPruneLock) // a stale lock expires
}

// deleteAll deletes objects with bounded concurrency; missing ones are fine.
func (r *Repository) deleteAll(ctx context.Context, keys []string) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, k := range keys {
		g.Go(func() error {
			err := r.bucket.Delete(ctx, k)
			if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
				return fmt.Errorf("delete %s: %w", k, err)
			}
			return nil
		})
	}
	return g.Wait()
}

func (r *Repository) removeSessions(ctx context.Context, st *pruneState, rep *PruneReport) error {
	now := r.clock()
	var keys []string
	for _, s := range st.sessions {
		if !st.live(s, now) {
			keys = append(keys, s.Key)
		}
	}
	rep.SessionsRemoved = len(keys)
	return r.deleteAll(ctx, keys)
}
