package location_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
