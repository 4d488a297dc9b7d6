package repository

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestCase_BD18: restoring over existing data, as uid 1000: twice into one
// folder, then with Overwrite after changes, then with SkipExisting.
func TestCase_BD18(t *testing.T) {
	if !asUnprivileged(t) {
		return
	}
	r, _ := newTestRepo(t, InitOptions{})
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "d1", "file1"), []byte("A\n"))
	must(t, os.Symlink("file1", filepath.Join(src, "d1", "link")))
	writeFile(t, filepath.Join(src, "ro", "x"), randomBytes(180, 1<<10))
	must(t, os.Chmod(filepath.Join(src, "ro", "x"), 0o444))
	must(t, os.Chmod(filepath.Join(src, "ro"), 0o555))
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(src, "ro"), 0o755) })
	must(t, os.Mkdir(filepath.Join(src, "d2"), 0o700))
	snap, err := r.Backup(t.Context(), src, BackupOptions{})
	must(t, err)

	tdir := filepath.Join(t.TempDir(), "T")
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(tdir, "ro"), 0o755) })
	for range 2 {
		_, err := r.Restore(t.Context(), snap, tdir, RestoreOptions{})
		must(t, err)
		compareTrees(t, src, tdir)
	}

	must(t, os.Chmod(filepath.Join(tdir, "d2"), 0o777))
	must(t, os.Remove(filepath.Join(tdir, "d1", "link")))
	writeFile(t, filepath.Join(tdir, "d1", "link"), []byte("not a link\n"))
	must(t, os.Chmod(filepath.Join(tdir, "ro", "x"), 0o644))
	must(t, os.WriteFile(filepath.Join(tdir, "ro", "x"), []byte("edited"), 0o644))

	stats, err := r.Restore(t.Context(), snap, tdir, RestoreOptions{})
	if !errors.Is(err, ErrIncomplete) || stats.Failed != 2 {
		t.Errorf("restore over changed entries without a policy: %v, %d failed; want the "+
			"link and ro/x refused", err, stats.Failed)
	}
	_, err = r.Restore(t.Context(), snap, tdir, RestoreOptions{Existing: Overwrite})
	must(t, err)
	compareTrees(t, src, tdir)
	modes := map[string]os.FileMode{"ro": 0o555, "ro/x": 0o444, "d2": 0o700}
	for name, want := range modes {
		if fi, err := os.Lstat(filepath.Join(tdir, name)); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", name, fi.Mode().Perm(), err, want)
		}
	}

	writeFile(t, filepath.Join(tdir, "d1", "file1"), []byte("B\n"))
	before := treeState(t, tdir)
	stats, err = r.Restore(t.Context(), snap, tdir, RestoreOptions{Existing: SkipExisting})
	must(t, err)
	sameState(t, before, treeState(t, tdir))
	var skipped []string
	for _, it := range stats.Items {
		if it.Result == ResultSkipped {
			skipped = append(skipped, it.Path)
		}
	}
	slices.Sort(skipped)
	want := []string{"d1", "d1/file1", "d1/link", "d2", "ro", "ro/x"}
	if !slices.Equal(skipped, want) {
		t.Errorf("skip-existing listed %v, want %v", skipped, want)
	}
}

// bd20Source names the folder that TestCase_BD20 backs up, made by root.
const bd20Source = "CAIRN_TEST_BD20_SOURCE"

// TestCase_BD20: unreadable entries, as uid 1000: the snapshot is
// PartiallyFailed, lists them with EACCES and the operation, and holds the
// readable file; FailOnUnreadable fails the backup instead.
func TestCase_BD20(t *testing.T) {
	src := os.Getenv(bd20Source)
	if src == "" {
		src = unreadableTree(t)
	}
	if !asUnprivileged(t, bd20Source+"="+src) {
		return
	}
	r, _ := newTestRepo(t, InitOptions{})
	snap, err := r.Backup(t.Context(), src, BackupOptions{})
	if !errors.Is(err, ErrIncomplete) || snap == nil {
		t.Fatalf("backup: %v, want ErrIncomplete with a snapshot", err)
	}
	t.Logf("backup: %v", err)
	stored, err := r.LoadSnapshot(t.Context(), snap.ID)
	must(t, err)
	want := []Outcome{
		{Path: "locked/", Action: "readdir", Result: ResultFailed, Errno: "EACCES",
			Reason: "permission denied"},
		{Path: "secret.key", Action: "open", Result: ResultFailed, Errno: "EACCES",
			Reason: "permission denied"},
	}
	if stored.Status() != StatusPartiallyFailed || !slices.Equal(stored.Errors, want) {
		t.Errorf("stored snapshot %s with %+v, want %s with %+v", stored.Status(),
			stored.Errors, StatusPartiallyFailed, want)
	}

	dst := filepath.Join(t.TempDir(), "out")
	_, err = r.Restore(t.Context(), stored, dst, RestoreOptions{})
	must(t, err)
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(dst, "locked"), 0o755) })
	if got, err := os.ReadFile(filepath.Join(dst, "ok.txt")); err != nil || len(got) != 1<<10 {
		t.Errorf("ok.txt: %d bytes restored, %v", len(got), err)
	}
	if _, err := os.Lstat(filepath.Join(dst, "secret.key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("secret.key was restored: %v", err)
	}

	failed, err := r.Backup(t.Context(), src, BackupOptions{FailOnUnreadable: true})
	if !errors.Is(err, ErrUnreadable) || failed != nil {
		t.Errorf("backup with FailOnUnreadable: %v, want ErrUnreadable and no snapshot", err)
	}
	ids, err := r.SnapshotIDs(t.Context())
	must(t, err)
	if len(ids) != 1 {
		t.Errorf("%d snapshots, want only the first", len(ids))
	}
}

// unreadableTree writes the case's folder where uid 1000 can reach it.
func unreadableTree(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cairn-bd20-")
	must(t, err)
	must(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() {
		_ = os.Chmod(filepath.Join(dir, "locked"), 0o755)
		_ = os.RemoveAll(dir)
	})
	writeFile(t, filepath.Join(dir, "ok.txt"), randomBytes(200, 1<<10))
	writeFile(t, filepath.Join(dir, "secret.key"), randomBytes(201, 1<<10))
	must(t, os.Chmod(filepath.Join(dir, "secret.key"), 0))
	writeFile(t, filepath.Join(dir, "locked", "inner.txt"), []byte("inner\n"))
	must(t, os.Chmod(filepath.Join(dir, "locked"), 0))
	return dir
}
