package repository

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
)

func TestBackupDeduplicates(t *testing.T) {
	r, _ := newTestRepo(t, InitOptions{})
	src := dataTree(t, 3, 30)

	first, err := r.Backup(t.Context(), src, BackupOptions{NoParent: true})
	must(t, err)
	if first.Summary.NewBytes == 0 {
		t.Fatal("first backup stored nothing")
	}

	tests := []struct {
		name string
		opts BackupOptions
	}{
		{"without parent", BackupOptions{NoParent: true}},
		{"with parent", BackupOptions{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := r.Backup(t.Context(), src, tt.opts)
			must(t, err)
			if s.Summary.NewBytes != 0 || s.Summary.DataBlobs != 0 {
				t.Errorf("unchanged backup stored %d bytes in %d blobs", s.Summary.NewBytes,
					s.Summary.DataBlobs)
			}
			if s.Tree != first.Tree {
				t.Errorf("unchanged folder got tree %s, want %s", s.Tree.Short(), first.Tree.Short())
			}
		})
	}

	// A changed file is read again; the rest are reused.
	writeFile(t, filepath.Join(src, "da", "f0"), []byte("changed"))
	s, err := r.Backup(t.Context(), src, BackupOptions{})
	must(t, err)
	if s.Summary.DataBlobs != 1 {
		t.Errorf("one changed file stored %d blobs, want 1", s.Summary.DataBlobs)
	}
	dst := filepath.Join(t.TempDir(), "out")
	_, err = r.Restore(t.Context(), s, dst, RestoreOptions{})
	must(t, err)
	compareTrees(t, src, dst)
}

func TestInterruptedBackup(t *testing.T) {
	r, _ := newTestRepo(t, InitOptions{})
	src := t.TempDir()
	for i := range 8 {
		writeFile(t, filepath.Join(src, "f"+itoa(i)), randomBytes(uint64(i), 1<<20))
	}

	ctx, cancel := context.WithCancel(t.Context())
	var stored atomic.Int32
	r.hooks.packStored = func() {
		if stored.Add(1) == 4 {
			cancel()
		}
	}
	_, err := r.Backup(ctx, src, BackupOptions{IndexFlushPacks: 100})
	if err == nil {
		t.Fatal("cancelled backup succeeded")
	}
	r.hooks.packStored = nil

	rep, err := r.Check(t.Context(), CheckOptions{ReadDataPercent: 100})
	must(t, err)
	if !rep.OK() {
		t.Fatalf("check after interrupted backup: %+v", rep.Errors)
	}
	ids, err := r.SnapshotIDs(t.Context())
	must(t, err)
	if len(ids) != 0 {
		t.Errorf("interrupted backup left %d snapshots", len(ids))
	}

	snap, err := r.Backup(t.Context(), src, BackupOptions{})
	must(t, err)
	if snap.Summary.NewBytes >= 8<<20 {
		t.Errorf("next backup stored %d new bytes, reusing nothing", snap.Summary.NewBytes)
	}
	dst := filepath.Join(t.TempDir(), "out")
	_, err = r.Restore(t.Context(), snap, dst, RestoreOptions{})
	must(t, err)
	compareTrees(t, src, dst)
}
