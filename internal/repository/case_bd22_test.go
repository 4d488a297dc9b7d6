package repository

import (
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCase_BD22 backs up many small files twice and restores them, scaled
// from the case's million to 20 folders of 1000 files and one folder of
// 5000 so that it runs in under a minute on two shared cores and a busy
// disk (120,000 files took four minutes there, most of it creating and
// removing files). The case's
// memory ceiling (a 512 MiB cgroup) and its throughput ratio are not
// asserted here: a test shares its process and machine with others, so
// bench/repository measures those instead.
func TestCase_BD22(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 25,000 files")
	}
	src := t.TempDir()
	var i int
	write := func(dir string, n int) {
		must(t, os.MkdirAll(dir, 0o755))
		for range n {
			name := filepath.Join(dir, "f"+itoa(i))
			must(t, os.WriteFile(name, randomBytes(uint64(i), i%513), 0o644))
			i++
		}
	}
	for d := range 20 {
		write(filepath.Join(src, "d"+itoa(d)), 1000)
	}
	write(filepath.Join(src, "wide"), 5000)

	r, _ := newTestRepo(t, InitOptions{PackSize: DefaultPackSize})
	start := time.Now()
	first, err := r.Backup(t.Context(), src, BackupOptions{})
	must(t, err)
	t.Logf("first backup: %d files in %s, %d bytes stored", first.Summary.Files,
		time.Since(start), first.Summary.StoredBytes)
	start = time.Now()
	second, err := r.Backup(t.Context(), src, BackupOptions{})
	must(t, err)
	t.Logf("second backup: %s, %d bytes stored", time.Since(start), second.Summary.StoredBytes)
	if second.Summary.FilesRead != 0 || second.Summary.StoredBytes*100 >= first.Summary.StoredBytes {
		t.Errorf("second backup read %d files and stored %d bytes, want none and under 1%% "+
			"of %d", second.Summary.FilesRead, second.Summary.StoredBytes,
			first.Summary.StoredBytes)
	}

	dst := filepath.Join(t.TempDir(), "out")
	_, err = r.Restore(t.Context(), second, dst, RestoreOptions{})
	must(t, err)
	want, got := fileHashes(t, src), fileHashes(t, dst)
	if len(got) != len(want) || len(want) != i {
		t.Fatalf("restored %d files, want %d of %d", len(got), len(want), i)
	}
	for name, h := range want {
		if got[name] != h {
			t.Errorf("%s: restored content differs", name)
		}
	}
}

func fileHashes(t *testing.T, root string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[rel] = sha256.Sum256(data)
		return err
	})
	must(t, err)
	return out
}
