package repository

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestRoundTripEveryKind(t *testing.T) {
	r, _ := newTestRepo(t, InitOptions{})
	src := kindsTree(t)

	snap, err := r.Backup(t.Context(), src, BackupOptions{Hostname: "h"})
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "restored")
	if _, err := r.Restore(t.Context(), snap, dst, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	compareTrees(t, src, dst)

	want, _ := os.Lstat(src)
	got, _ := os.Lstat(dst)
	if want.Mode() != got.Mode() || !want.ModTime().Equal(got.ModTime()) {
		t.Errorf("root: mode %v time %v, want %v %v", got.Mode(), got.ModTime(),
			want.Mode(), want.ModTime())
	}
}

func TestOpenWrongPassword(t *testing.T) {
	_, dir := newTestRepo(t, InitOptions{})
	_, err := Open(t.Context(), openBucket(t, dir), Credentials{Password: "nope"}, nil)
	if !errors.Is(err, ErrWrongKey) {
		t.Fatalf("open with a wrong password: %v, want ErrWrongKey", err)
	}
}
