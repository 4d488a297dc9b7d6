package repository

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gocloud.dev/blob"

	cairnloc "github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/test/s3server"
)

// folderStore keeps the repository in a folder; it returns the bucket and
// the folder that holds its objects.
func folderStore(t *testing.T) (*blob.Bucket, string) {
	dir := t.TempDir()
	return openBucket(t, dir), dir
}

// s3Store keeps the repository under a prefix of a bucket on the S3 test
// server; the objects are files under the server's posix root.
func s3Store(t *testing.T) (*blob.Bucket, string) {
	srv := s3server.New(t, s3server.Options{})
	srv.Bucket(t, "volumes")
	loc, err := cairnloc.OpenWith(t.Context(), srv.URL("volumes", "repo"),
		cairnloc.Options{CredentialsFile: srv.Credentials(t)})
	must(t, err)
	t.Cleanup(func() { _ = loc.Close() })
	return loc.Bucket(), filepath.Join(srv.Dir, "root", "volumes", "repo")
}

// packsOnlyOf returns, for each file of the snapshot's top folder, the
// packs that hold chunks of that file and of no other, and every blob of
// those packs.
func packsOnlyOf(t *testing.T, r *Repository, snap *Snapshot) (map[string][]ID, map[ID][]Blob) {
	t.Helper()
	ix, err := r.readerIndex(t.Context())
	must(t, err)
	tree, err := r.LoadTree(t.Context(), ix, snap.Tree)
	must(t, err)
	owners := map[ID]map[string]bool{}
	blobs := map[ID][]Blob{}
	for _, n := range tree.Nodes {
		for _, id := range n.Content {
			p, b, _ := ix.Lookup(id)
			if owners[p.ID] == nil {
				owners[p.ID] = map[string]bool{}
			}
			owners[p.ID][n.Name] = true
			blobs[p.ID] = append(blobs[p.ID], b)
		}
	}
	only := map[string][]ID{}
	for p, o := range owners {
		if len(o) == 1 {
			for name := range o {
				only[name] = append(only[name], p)
			}
		}
	}
	for _, ps := range only {
		slices.SortFunc(ps, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	}
	return only, blobs
}

// TestCase_BD14: a truncated and a missing pack are named by check with the
// files they hold; the damaged snapshot restores its good files and reports
// the others, writing no short or zero-filled file; the next backup stores
// the lost chunks again. The case restores S1 after S2; here it is restored
// before as well, since S2's chunks heal S1.
func TestCase_BD14(t *testing.T) {
	tests := []struct {
		name  string
		store func(t *testing.T) (*blob.Bucket, string)
	}{
		{"folder", folderStore},
		{"s3", s3Store},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, root := tt.store(t)
			r, err := Init(t.Context(), b, InitOptions{Password: testPassword,
				Chunker: testChunker, PackSize: 512 << 10, WorkFactor: 10})
			must(t, err)
			src := t.TempDir()
			for i := 1; i <= 5; i++ {
				writeFile(t, filepath.Join(src, "f"+itoa(i)+".bin"), randomBytes(uint64(i), 4<<20))
			}
			s1, err := r.Backup(t.Context(), src, BackupOptions{})
			must(t, err)

			only, blobs := packsOnlyOf(t, r, s1)
			truncated, deleted := only["f3.bin"][0], only["f4.bin"][0]
			var lost int64
			for _, p := range []ID{truncated, deleted} {
				for _, b := range blobs[p] {
					lost += int64(b.RawLength)
				}
			}
			path3 := filepath.Join(root, filepath.FromSlash(packKey(truncated)))
			fi, err := os.Stat(path3)
			must(t, err)
			must(t, os.Truncate(path3, fi.Size()/2))
			must(t, os.Remove(filepath.Join(root, filepath.FromSlash(packKey(deleted)))))

			checkNames(t, r, map[ID]string{truncated: "index says", deleted: "missing"},
				[]AffectedFile{
					{Snapshot: s1.ID, Path: "f3.bin", Objects: []string{packKey(truncated)}},
					{Snapshot: s1.ID, Path: "f4.bin", Objects: []string{packKey(deleted)}},
				})

			dst1 := filepath.Join(t.TempDir(), "s1")
			stats, err := r.Restore(t.Context(), s1, dst1, RestoreOptions{})
			if !errors.Is(err, ErrIncomplete) || stats == nil {
				t.Fatalf("restore of S1: %v, want ErrIncomplete with stats", err)
			}
			t.Logf("restore of S1: %v", err)
			var failed []string
			for _, it := range stats.Items {
				if it.Result == ResultFailed {
					failed = append(failed, it.Path)
				}
			}
			slices.Sort(failed)
			if !slices.Equal(failed, []string{"f3.bin", "f4.bin"}) || stats.Failed != 2 {
				t.Errorf("restore of S1 failed %v, want [f3.bin f4.bin]", failed)
			}
			for i := 1; i <= 5; i++ {
				got, err := os.ReadFile(filepath.Join(dst1, "f"+itoa(i)+".bin"))
				switch {
				case i == 3 || i == 4:
					if !errors.Is(err, os.ErrNotExist) {
						t.Errorf("f%d.bin was written (%d bytes, %v); want it absent", i,
							len(got), err)
					}
				case err != nil || !bytes.Equal(got, randomBytes(uint64(i), 4<<20)):
					t.Errorf("f%d.bin: not restored intact: %v", i, err)
				}
			}
			s2, err := r.Backup(t.Context(), src, BackupOptions{})
			must(t, err)
			if s2.Summary.NewBytes != lost || s2.Summary.FilesRead != 2 {
				t.Errorf("S2 read %d files and stored %d new bytes, want 2 files and the %d "+
					"bytes of the damaged packs", s2.Summary.FilesRead, s2.Summary.NewBytes, lost)
			}
			dst2 := filepath.Join(t.TempDir(), "s2")
			_, err = r.Restore(t.Context(), s2, dst2, RestoreOptions{})
			must(t, err)
			compareTrees(t, src, dst2)

			// S2 stored the lost chunks again under the same ids, so S1 now
			// restores whole too, and no file is affected any more.
			dst1 = filepath.Join(t.TempDir(), "s1-healed")
			_, err = r.Restore(t.Context(), s1, dst1, RestoreOptions{})
			must(t, err)
			compareTrees(t, src, dst1)
			checkNames(t, r, map[ID]string{truncated: "index says", deleted: "missing"}, nil)
		})
	}
}

// checkNames runs a full check and wants an error about each pack, with
// the words given, and exactly the affected files given.
func checkNames(t *testing.T, r *Repository, packs map[ID]string, want []AffectedFile) {
	t.Helper()
	rep, err := r.Check(t.Context(), CheckOptions{ReadDataPercent: 100})
	must(t, err)
	for id, words := range packs {
		if !slices.ContainsFunc(rep.Errors, func(p Problem) bool {
			return p.Object == packKey(id) && strings.Contains(p.Message, words)
		}) {
			t.Errorf("check does not name %s with %q: %+v", packKey(id), words, rep.Errors)
		}
	}
	got := rep.Affected
	slices.SortFunc(got, func(a, b AffectedFile) int { return strings.Compare(a.Path, b.Path) })
	if len(got) != len(want) {
		t.Fatalf("check lists affected files %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Snapshot != want[i].Snapshot || got[i].Path != want[i].Path ||
			!slices.Equal(got[i].Objects, want[i].Objects) {
			t.Errorf("affected %+v, want %+v", got[i], want[i])
		}
	}
}
