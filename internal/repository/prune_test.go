package repository

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func prune(t *testing.T, r *Repository) *PruneReport {
	t.Helper()
	rep, err := r.Prune(t.Context(), PruneOptions{Margin: time.Nanosecond})
	must(t, err)
	return rep
}

func checkOK(t *testing.T, r *Repository) {
	t.Helper()
	rep, err := r.Check(t.Context(), CheckOptions{ReadDataPercent: 100})
	must(t, err)
	if !rep.OK() {
		t.Fatalf("check: %+v", rep.Errors)
	}
}

func TestForgetAndPruneFreeSpace(t *testing.T) {
	r, _ := newTestRepo(t, InitOptions{})
	keepSrc, dropSrc := dataTree(t, 1, 20), dataTree(t, 2, 20)
	keep, err := r.Backup(t.Context(), keepSrc, BackupOptions{})
	must(t, err)
	drop, err := r.Backup(t.Context(), dropSrc, BackupOptions{})
	must(t, err)
	must(t, r.Forget(t.Context(), drop.ID))

	first := prune(t, r)
	if first.PacksCondemned == 0 || first.PacksDeleted != 0 {
		t.Fatalf("first prune: %+v, want packs condemned and none deleted", first)
	}
	second := prune(t, r)
	if second.PacksDeleted != first.PacksCondemned || second.MarksSwept != 1 {
		t.Fatalf("second prune: %+v, want the %d condemned packs deleted", second,
			first.PacksCondemned)
	}
	if third := prune(t, r); third.PacksCondemned != 0 || third.PacksDeleted != 0 {
		t.Errorf("third prune found more to do: %+v", third)
	}

	checkOK(t, r)
	dst := filepath.Join(t.TempDir(), "out")
	_, err = r.Restore(t.Context(), keep, dst, RestoreOptions{})
	must(t, err)
	compareTrees(t, keepSrc, dst)
}

// TestPruneDuringBackup runs both prune phases while a backup that reuses
// condemned blobs is between reading the index and writing its snapshot.
// Without a later backup the condemned packs must be rescued; with one, its
// fresh copies let them go.
func TestPruneDuringBackup(t *testing.T) {
	tests := []struct {
		name        string
		later       bool
		wantRescued bool
	}{
		{"alone", false, true},
		{"with a backup after the mark", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pruneDuringBackup(t, tt.later, tt.wantRescued)
		})
	}
}

func pruneDuringBackup(t *testing.T, later, wantRescued bool) {
	r, _ := newTestRepo(t, InitOptions{})
	src := dataTree(t, 5, 25)
	old, err := r.Backup(t.Context(), src, BackupOptions{})
	must(t, err)
	must(t, r.Forget(t.Context(), old.ID))

	paused, resume := make(chan struct{}), make(chan struct{})
	r.hooks.beforeSnapshot = func() {
		r.hooks.beforeSnapshot = nil
		close(paused)
		<-resume
	}
	type result struct {
		snap *Snapshot
		err  error
	}
	done := make(chan result)
	go func() {
		s, err := r.Backup(t.Context(), src, BackupOptions{NoParent: true})
		done <- result{s, err}
	}()
	<-paused

	mark := prune(t, r)
	if mark.PacksCondemned == 0 {
		t.Fatalf("prune condemned nothing: %+v", mark)
	}
	if sweep := prune(t, r); sweep.PacksDeleted != 0 || sweep.MarksWaiting != 1 {
		t.Fatalf("prune swept while a backup that started before the mark runs: %+v", sweep)
	}

	snaps := []*Snapshot{}
	if later {
		s, err := r.Backup(t.Context(), src, BackupOptions{NoParent: true})
		must(t, err)
		if s.Summary.DataBlobs == 0 {
			t.Error("backup after the mark deduplicated against condemned packs")
		}
		snaps = append(snaps, s)
	}

	close(resume)
	res := <-done
	must(t, res.err)
	if res.snap.Summary.DataBlobs != 0 {
		t.Fatalf("paused backup stored %d blobs; the test needs it to reuse old ones",
			res.snap.Summary.DataBlobs)
	}
	snaps = append(snaps, res.snap)

	sweep := prune(t, r)
	if sweep.MarksSwept != 1 || (sweep.PacksRescued > 0) != wantRescued {
		t.Errorf("sweep after the backup: %+v, want rescued=%v", sweep, wantRescued)
	}
	prune(t, r)
	prune(t, r)
	checkOK(t, r)
	for _, s := range snaps {
		dst := filepath.Join(t.TempDir(), "out")
		_, err = r.Restore(t.Context(), s, dst, RestoreOptions{})
		must(t, err)
		compareTrees(t, src, dst)
	}
}

func TestPolicy(t *testing.T) {
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.Local)
	var snaps []*Snapshot
	for i := range 10 { // two a day for five days
		snaps = append(snaps, &Snapshot{ID: ID{byte(i)}, Time: now.Add(-time.Duration(i) * 12 * time.Hour)})
	}
	tests := []struct {
		name     string
		policy   Policy
		wantKeep int
	}{
		{"empty keeps all", Policy{}, 10},
		{"last", Policy{KeepLast: 3}, 3},
		{"daily", Policy{KeepDaily: 2}, 2},
		{"within", Policy{KeepWithin: 25 * time.Hour}, 3},
		{"union", Policy{KeepLast: 1, KeepDaily: 3}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keep, remove := tt.policy.Apply(snaps, now)
			if len(keep) != tt.wantKeep || len(keep)+len(remove) != len(snaps) {
				t.Errorf("kept %d, removed %d; want %d kept", len(keep), len(remove), tt.wantKeep)
			}
		})
	}
}

// Rules count the snapshots of each host and folder apart: the only
// snapshot of a folder is never removed for newer ones of another.
func TestPolicyPerFolder(t *testing.T) {
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.Local)
	snap := func(i int, host, path string) *Snapshot {
		return &Snapshot{ID: ID{byte(i)}, Hostname: host, Path: path,
			Time: now.Add(-time.Duration(i) * time.Hour)}
	}
	snaps := []*Snapshot{
		snap(0, "a", "/data/one"), snap(1, "a", "/data/one"), snap(2, "a", "/data/one"),
		snap(3, "a", "/data/two"), snap(4, "b", "/data/one"),
	}
	keep, remove := Policy{KeepLast: 1}.Apply(snaps, now)
	var kept []byte
	for _, s := range keep {
		kept = append(kept, s.ID[0])
	}
	slices.Sort(kept)
	if !slices.Equal(kept, []byte{0, 3, 4}) || len(remove) != 2 {
		t.Errorf("kept snapshots %v, removed %d; want 0, 3 and 4 kept, 2 removed", kept,
			len(remove))
	}
}
