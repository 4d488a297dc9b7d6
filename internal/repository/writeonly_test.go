package repository

import (
	"errors"
	"path/filepath"
	"testing"

	"filippo.io/age"
)

func TestWriteOnlyMode(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	must(t, err)
	_, dir := newTestRepo(t, InitOptions{Recipient: id.Recipient().String()})
	src := dataTree(t, 9, 15)

	writer, err := Open(t.Context(), openBucket(t, dir), Credentials{Password: testPassword}, nil)
	must(t, err)
	if writer.CanRead() {
		t.Fatal("the password alone opened a recipient-mode repository for reading")
	}
	first, err := writer.Backup(t.Context(), src, BackupOptions{})
	must(t, err)
	second, err := writer.Backup(t.Context(), src, BackupOptions{})
	must(t, err)
	if second.Summary.DataBlobs != 0 {
		t.Errorf("second write-only backup stored %d blobs; dedup must work without reading",
			second.Summary.DataBlobs)
	}

	ix, err := writer.writerIndex(t.Context())
	must(t, err)
	reads := []struct {
		name string
		err  error
	}{
		{"snapshot", second2(writer.LoadSnapshot(t.Context(), first.ID))},
		{"restore", second2(writer.Restore(t.Context(), first, t.TempDir(), RestoreOptions{}))},
		{"tree", second2(writer.LoadTree(t.Context(), ix, first.Tree))},
		{"list", second2(writer.Snapshots(t.Context()))},
		{"prune", second2(writer.Prune(t.Context(), PruneOptions{}))},
	}
	for _, rd := range reads {
		if !errors.Is(rd.err, ErrWriteOnly) {
			t.Errorf("%s while write-only: %v, want ErrWriteOnly", rd.name, rd.err)
		}
	}
	rep, err := writer.Check(t.Context(), CheckOptions{ReadDataPercent: 100})
	must(t, err)
	if !rep.OK() || !rep.WriteOnly {
		t.Errorf("write-only check: %+v", rep)
	}

	reader, err := Open(t.Context(), openBucket(t, dir), Credentials{Identities: []age.Identity{id}}, nil)
	must(t, err)
	snap, err := reader.FindSnapshot(t.Context(), second.ID.String()[:8])
	must(t, err)
	dst := filepath.Join(t.TempDir(), "out")
	_, err = reader.Restore(t.Context(), snap, dst, RestoreOptions{})
	must(t, err)
	compareTrees(t, src, dst)

	other, err := age.GenerateX25519Identity()
	must(t, err)
	_, err = Open(t.Context(), openBucket(t, dir), Credentials{Identities: []age.Identity{other}}, nil)
	if !errors.Is(err, ErrWrongKey) {
		t.Errorf("open with a foreign identity: %v, want ErrWrongKey", err)
	}
}

func second2[T any](_ T, err error) error { return err }
