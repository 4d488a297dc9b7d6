package location_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/test/nobody"
)

// The environment of the test binary when TestListUnreadable runs it again
// as a user without privileges, to list a folder.
const (
	listDirEnv    = "CAIRN_TEST_LIST_DIR"
	listPrefixEnv = "CAIRN_TEST_LIST_PREFIX"
	listDelimEnv  = "CAIRN_TEST_LIST_DELIM"
)

// TestListUnreadable lists folders that hold folders the user may not
// read. Root reads every folder, so the listing runs in the test binary run
// again as a user without privileges (see package nobody).
func TestListUnreadable(t *testing.T) {
	if dir := os.Getenv(listDirEnv); dir != "" {
		fmt.Println(listAs(dir, os.Getenv(listPrefixEnv), os.Getenv(listDelimEnv)))
		return
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe := nobody.Executable(t, self)
	tests := []struct {
		name          string
		files         []string
		shut          []string // folders made unreadable, "" for the location's
		prefix, delim string
		want          string // what listAs prints, or part of it for an error
	}{
		{"AllReadable", []string{"backups/b1/m", "backups/b2/m"}, nil,
			"backups/", "/", "keys: backups/b1/ backups/b2/"},
		{"NoFolder", nil, nil, "backups/", "/", "keys:"},
		{"BackupsShut", []string{"backups/b1/m"}, []string{"backups"},
			"backups/", "/", "/backups: permission denied"},
		{"LocationShut", []string{"backups/b1/m"}, []string{""},
			"backups/", "/", "/backups: permission denied"},
		{"OneBackupShut", []string{"backups/b1/m", "backups/b2/m"},
			[]string{"backups/b2"}, "backups/", "/", "/backups/b2: permission denied"},
		{"ShutBesideAKey", []string{"backups/b1/a/m", "backups/b1/m"},
			[]string{"backups/b1/a"}, "backups/", "/", "keys: backups/b1/"},
		{"ShutAlone", []string{"backups/b1/a/m"}, []string{"backups/b1/a"},
			"backups/", "/", "/backups/b1/a: permission denied"},
		{"ShutInFullList", []string{"backups/b1/m", "backups/b2/a/m"},
			[]string{"backups/b2/a"}, "backups/", "", "/backups/b2/a: permission denied"},
		{"ShutOutsidePrefix", []string{"backups/b1/m", "restores/r1/m"},
			[]string{"restores"}, "backups/", "/", "keys: backups/b1/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(nobody.Dir(t), "loc")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range tt.files {
				writeFile(t, filepath.Join(dir, f))
			}
			for _, s := range slices.Backward(tt.shut) {
				if err := os.Chmod(filepath.Join(dir, s), 0); err != nil {
					t.Fatal(err)
				}
			}
			cmd := nobody.Command(t, []string{listDirEnv + "=" + dir,
				listPrefixEnv + "=" + tt.prefix, listDelimEnv + "=" + tt.delim},
				exe, "-test.run=^TestListUnreadable$")
			stdout, stderr, code := nobody.Output(t, cmd)
			got, _, _ := strings.Cut(stdout, "\n")
			if code != 0 {
				t.Fatalf("the listing exited %d: %s%s", code, stdout, stderr)
			}
			if strings.HasPrefix(tt.want, "keys:") && got != tt.want ||
				!strings.HasPrefix(tt.want, "keys:") && !strings.Contains(got, tt.want) {
				t.Fatalf("the listing printed %q, want %q", got, tt.want)
			}
		})
	}
}

// listAs lists prefix in the folder dir, which must exist.
func listAs(dir, prefix, delim string) string {
	ctx := context.Background()
	l, err := location.OpenWith(ctx, dir, location.Options{MustExist: true})
	if err != nil {
		return "error: " + err.Error()
	}
	defer func() { _ = l.Close() }()
	keys, err := l.List(ctx, prefix, delim)
	if err != nil {
		return "error: " + err.Error()
	}
	return strings.TrimSpace("keys: " + strings.Join(keys, " "))
}

func writeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDeleteRemovesEmptyFolders checks that Delete, Abort and a failed
// Close leave no empty folder behind them, and never remove the
// location's own folder.
func TestDeleteRemovesEmptyFolders(t *testing.T) {
	tests := []struct {
		name   string
		keep   []string // keys written and kept
		remove func(t *testing.T, l *location.Location)
		left   []string // folders left, under the location's
	}{
		{"Delete", nil, func(t *testing.T, l *location.Location) {
			put(t, l, "backups/b1/manifest.json")
			if err := l.Delete(t.Context(), "backups/b1/manifest.json"); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"DeleteBesideAnother", []string{"backups/b2/manifest.json"},
			func(t *testing.T, l *location.Location) {
				put(t, l, "backups/b1/manifest.json")
				if err := l.Delete(t.Context(), "backups/b1/manifest.json"); err != nil {
					t.Fatal(err)
				}
			}, []string{"backups", "backups/b2"}},
		{"DeleteOneOfTwo", []string{"backups/b1/log"},
			func(t *testing.T, l *location.Location) {
				put(t, l, "backups/b1/manifest.json")
				if err := l.Delete(t.Context(), "backups/b1/manifest.json"); err != nil {
					t.Fatal(err)
				}
			}, []string{"backups", "backups/b1"}},
		{"DeleteMissing", nil, func(t *testing.T, l *location.Location) {
			if err := l.Delete(t.Context(), "backups/b1/manifest.json"); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"DeleteAtTop", nil, func(t *testing.T, l *location.Location) {
			put(t, l, "top")
			if err := l.Delete(t.Context(), "top"); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"Abort", nil, func(t *testing.T, l *location.Location) {
			w, err := l.NewWriter(t.Context(), "backups/b1/archive.tar.zst")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte("partial")); err != nil {
				t.Fatal(err)
			}
			w.Abort()
		}, nil},
		{"CancelledClose", nil, func(t *testing.T, l *location.Location) {
			ctx, cancel := context.WithCancel(t.Context())
			w, err := l.NewWriter(ctx, "backups/b1/archive.tar.zst")
			if err != nil {
				t.Fatal(err)
			}
			cancel()
			if err := w.Close(); err == nil {
				t.Fatal("Close after cancel succeeded")
			}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l, err := location.Open(t.Context(), dir)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = l.Close() }()
			for _, k := range tt.keep {
				put(t, l, k)
			}
			tt.remove(t, l)
			if got := folders(t, dir); !slices.Equal(got, tt.left) {
				t.Fatalf("folders left: %q, want %q", got, tt.left)
			}
		})
	}
}

func put(t *testing.T, l *location.Location, key string) {
	t.Helper()
	if err := l.Put(t.Context(), key, []byte(key)); err != nil {
		t.Fatal(err)
	}
}

// folders returns the folders under dir, which must exist.
func folders(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWritesRaceFolderRemoval writes and deletes keys in one folder from
// many goroutines, so that folders are removed as they empty while other
// writers are making them and creating their files in them. Every write
// must succeed.
func TestWritesRaceFolderRemoval(t *testing.T) {
	l, err := location.Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	const writers, rounds = 8, 300
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for i := range writers {
		wg.Go(func() {
			for r := range rounds {
				key := fmt.Sprintf("race/%d/%d-%d", i%2, i, r)
				put := l.Put
				if i%4 >= 2 {
					put = l.PutIfAbsent
				}
				err := put(t.Context(), key, nil)
				if err == nil {
					err = l.Delete(t.Context(), key)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}
