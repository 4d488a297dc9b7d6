package repository

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// openAgain opens the repository in dir as another process would: its own
// bucket, index and key cache.
func openAgain(t *testing.T, dir string) *Repository {
	t.Helper()
	r, err := Open(t.Context(), openBucket(t, dir), Credentials{Password: testPassword}, nil)
	must(t, err)
	return r
}

// TestConcurrentWriters runs several backups at once, each through its own
// handle on the repository, over trees that share files, and checks that
// every snapshot restores and the repository stays consistent.
func TestConcurrentWriters(t *testing.T) {
	tests := []struct {
		name    string
		writers int
		shared  bool // all writers back up the same folder
	}{
		{"distinct folders", 4, false},
		{"one folder", 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, dir := newTestRepo(t, InitOptions{})
			common := dataTree(t, 40, 15)
			srcs := make([]string, tt.writers)
			for i := range srcs {
				srcs[i] = common
				if !tt.shared {
					srcs[i] = dataTree(t, uint64(50+i), 12)
				}
			}

			snaps := make([]*Snapshot, tt.writers)
			var g errgroup.Group
			for i := range tt.writers {
				r := openAgain(t, dir)
				g.Go(func() error {
					var err error
					snaps[i], err = r.Backup(t.Context(), srcs[i], BackupOptions{NoParent: true})
					return err
				})
			}
			must(t, g.Wait())

			r := openAgain(t, dir)
			checkOK(t, r)
			ids, err := r.SnapshotIDs(t.Context())
			must(t, err)
			if len(ids) != tt.writers {
				t.Fatalf("%d snapshots, want %d", len(ids), tt.writers)
			}
			for i, s := range snaps {
				dst := filepath.Join(t.TempDir(), "out")
				_, err := r.Restore(t.Context(), s, dst, RestoreOptions{})
				must(t, err)
				compareTrees(t, srcs[i], dst)
			}
		})
	}
}

// TestPruneDuringConcurrentBackups forgets and prunes in a loop while
// backups of changing folders run, each through its own handle, then checks
// that every snapshot still there restores byte for byte. The hooks of
// TestPruneDuringBackup pin down one interleaving; this one lets them fall
// as they may.
func TestPruneDuringConcurrentBackups(t *testing.T) {
	_, dir := newTestRepo(t, InitOptions{})
	srcs := []string{dataTree(t, 60, 20), dataTree(t, 61, 20)}
	admin := openAgain(t, dir)
	old, err := admin.Backup(t.Context(), srcs[0], BackupOptions{})
	must(t, err)
	must(t, admin.Forget(t.Context(), old.ID))

	const rounds = 3
	var mu sync.Mutex
	var kept []*Snapshot
	var srcOf = map[ID]string{}
	stop := make(chan struct{})

	var backups errgroup.Group
	for w, src := range srcs {
		r := openAgain(t, dir)
		must(t, os.Mkdir(filepath.Join(src, "round"), 0o755))
		backups.Go(func() error {
			for i := range rounds {
				changed := randomBytes(uint64(100+10*w+i), 90000)
				if err := os.WriteFile(filepath.Join(src, "round", itoa(w)), changed,
					0o644); err != nil {
					return err
				}
				s, err := r.Backup(t.Context(), src, BackupOptions{NoParent: i%2 == 0})
				if err != nil {
					return err
				}
				mu.Lock()
				kept = append(kept, s)
				srcOf[s.ID] = src
				mu.Unlock()
				// Restore while it is fresh: later rounds change the folder.
				dst := filepath.Join(t.TempDir(), "out")
				if _, err := r.Restore(t.Context(), s, dst, RestoreOptions{}); err != nil {
					return err
				}
				compareTrees(t, src, dst)
			}
			return nil
		})
	}

	var pruner errgroup.Group
	var total PruneReport
	pruner.Go(func() error {
		for {
			select {
			case <-stop:
				return nil
			default:
			}
			rep, err := admin.Prune(t.Context(), PruneOptions{Margin: time.Nanosecond})
			if err != nil {
				return err
			}
			total.PacksCondemned += rep.PacksCondemned
			total.PacksDeleted += rep.PacksDeleted
			total.PacksRescued += rep.PacksRescued
			total.MarksWaiting += rep.MarksWaiting
		}
	})
	must(t, backups.Wait())
	close(stop)
	must(t, pruner.Wait())
	t.Logf("prunes during the backups: %d packs condemned, %d deleted, %d rescued, "+
		"%d times a mark waited", total.PacksCondemned, total.PacksDeleted, total.PacksRescued,
		total.MarksWaiting)
	if total.PacksCondemned == 0 {
		t.Fatal("no prune condemned anything while the backups ran: the test proves nothing")
	}

	// The folders changed since the earlier snapshots, so those are only
	// restored, which reads every chunk and checks its id; the newest is
	// compared with its folder.
	for range 3 {
		prune(t, admin)
	}
	checkOK(t, admin)
	for _, s := range kept {
		dst := filepath.Join(t.TempDir(), "out")
		_, err := admin.Restore(t.Context(), s, dst, RestoreOptions{})
		must(t, err)
	}
	last := kept[len(kept)-1]
	dst := filepath.Join(t.TempDir(), "out")
	_, err = admin.Restore(t.Context(), last, dst, RestoreOptions{})
	must(t, err)
	compareTrees(t, srcOf[last.ID], dst)
}

// TestRestoreFindsMovedChunks makes two packs hold the same chunks, as two
// backups that start together do, and deletes the packs a restore chose
// after it chose them, as a prune does with a condemned pack once it found
// the chunks in another. The restore reads them from the other packs; with
// no other copy, it fails the files, naming the pack.
func TestRestoreFindsMovedChunks(t *testing.T) {
	_, dir := newTestRepo(t, InitOptions{})
	src := uniqueTree(t, 71, 6)
	first, second := openAgain(t, dir), openAgain(t, dir)
	// The second backup runs whole while the first has stored a pack and
	// indexed nothing: both store every chunk.
	var other *Snapshot
	first.hooks.packStored = func() {
		first.hooks.packStored = nil
		var err error
		other, err = second.Backup(t.Context(), src, BackupOptions{})
		must(t, err)
	}
	snap, err := first.Backup(t.Context(), src, BackupOptions{IndexFlushPacks: 100})
	must(t, err)
	if other == nil {
		t.Fatal("the second backup did not run during the first")
	}

	reader := openAgain(t, dir)
	deleted := 0
	reader.hooks.restorePlanned = func(packs []ID) {
		for _, id := range packs {
			must(t, reader.bucket.Delete(t.Context(), packKey(id)))
			deleted++
		}
	}
	dst := filepath.Join(t.TempDir(), "out")
	_, err = reader.Restore(t.Context(), snap, dst, RestoreOptions{})
	must(t, err)
	if deleted == 0 {
		t.Fatal("the restore planned to read no pack")
	}
	compareTrees(t, src, dst)

	// Now the chunks are in the other packs only: delete those too.
	dst = filepath.Join(t.TempDir(), "out")
	stats, err := reader.Restore(t.Context(), other, dst, RestoreOptions{})
	if !errors.Is(err, ErrIncomplete) || stats == nil || stats.Failed == 0 {
		t.Fatalf("restore with every copy gone: %v, %+v; want failed files", err, stats)
	}
	if !strings.Contains(err.Error(), "not found") {
		t.Errorf("error %q does not say the pack was not found", err)
	}
}
