package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/test/controlplane"
)

// A damaged archive is never downloaded as if whole.
func TestDownloadChecksArchive(t *testing.T) {
	cp := controlplane.Shared(t)
	ns := cp.Namespace(t)
	loc := t.TempDir()
	if out, code := cairn(t, "backup", "create", "d1", "--include-namespaces", ns,
		"--location", loc); code != 0 {
		t.Fatalf("backup: exit %d: %s", code, out)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.tar.zst")
	if out, code := cairn(t, "backup", "download", "d1", "-f", good, "--location", loc); code != 0 {
		t.Fatalf("download: exit %d: %s", code, out)
	}
	archives, err := filepath.Glob(filepath.Join(loc, "backups", "d1", "archive-*"))
	if err != nil || len(archives) != 1 {
		t.Fatalf("archive files %v, %v", archives, err)
	}
	data, err := os.ReadFile(archives[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(archives[0], data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.tar.zst")
	out, code := cairn(t, "backup", "download", "d1", "-f", bad, "--location", loc)
	if code != 1 || !strings.Contains(out, "does not match its manifest") {
		t.Errorf("download of a truncated archive: exit %d: %s", code, out)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("a truncated archive was written to %s", bad)
	}
}
