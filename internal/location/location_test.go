package location_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/internal/location/locationtest"
)

func TestFileConformance(t *testing.T) {
	l, err := location.Open(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	locationtest.Run(t, l)
}

func TestPlainPathIsAFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "folder")
	l, err := location.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	if err := l.Put(context.Background(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "k")); err != nil {
		t.Fatalf("object not in folder: %v", err)
	}
	if strings.Contains(l.URL, "?") {
		t.Fatalf("URL %q shows driver options", l.URL)
	}
}

func TestBadURLs(t *testing.T) {
	for _, raw := range []string{"file://relative/path", "nosuch://bucket"} {
		if _, err := location.Open(context.Background(), raw); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", raw)
		}
	}
}

func TestUnwritableFolder(t *testing.T) {
	// A regular file where the folder should be: unwritable even for root.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := location.Open(context.Background(), filepath.Join(file, "backups"))
	if err != nil {
		return
	}
	defer func() { _ = l.Close() }()
	if err := l.Probe(context.Background(), "probe"); err == nil {
		t.Fatal("probe of an unwritable folder succeeded")
	}
}

func TestRemoveStaleTemp(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * time.Hour)
	files := []struct {
		name  string
		old   bool
		stays bool
	}{
		{"data/ab/abcd.18ee06ae0665c365.tmp", true, false}, // a killed write
		{"locks/prune.18ee06909a7c1adf.tmp", true, false},
		{"data/ab/abce.18ee06ae0665c366.tmp", false, true}, // a write running now
		{"data/ab/abcd", true, true},                       // a stored object
		{"notes.tmp", true, true},                          // not a write's temporary file
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if f.old {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	l, err := location.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	n, err := l.RemoveStaleTemp(t.Context(), "", time.Hour)
	if err != nil || n != 2 {
		t.Fatalf("removed %d (%v), want 2", n, err)
	}
	for _, f := range files {
		_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.name)))
		if stays := err == nil; stays != f.stays {
			t.Errorf("%s: there %v, want %v", f.name, stays, f.stays)
		}
	}
}
