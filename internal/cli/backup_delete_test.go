package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBackupDelete checks that backup delete goes through every name,
// deleting those that exist and reporting the others, and that it leaves
// no empty folder behind.
func TestBackupDelete(t *testing.T) {
	tests := []struct {
		name     string
		stored   []string // backups in the location
		args     []string
		code     int
		deleted  []string
		missing  []string // reported as not found
		left     []string // backups left
		noFolder bool     // no backups/ folder left
	}{
		{"All", []string{"b1", "b2"}, []string{"b1", "b2"}, 0,
			[]string{"b1", "b2"}, nil, nil, true},
		{"MissingFirst", []string{"b1", "b3"}, []string{"a", "b1", "c", "b3"}, 1,
			[]string{"b1", "b3"}, []string{"a", "c"}, nil, true},
		{"SomeKept", []string{"b1", "b2"}, []string{"b1", "x"}, 1,
			[]string{"b1"}, []string{"x"}, []string{"b2"}, false},
		{"NoneFound", nil, []string{"x", "y"}, 1, nil, []string{"x", "y"}, nil, true},
		{"Leftovers", []string{"b1"}, []string{"b1"}, 0, []string{"b1"}, nil, nil, true},
		{"BadName", []string{"b1"}, []string{"b1", "Bad_Name"}, 2, nil, nil,
			[]string{"b1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := t.TempDir()
			for _, b := range tt.stored {
				storeBackup(t, loc, b)
			}
			if tt.name == "Leftovers" {
				// An interrupted run's leftovers beside the backup.
				writeTestFile(t, filepath.Join(loc, "backups", "b1", "x.18ee06ae0665c365.tmp"))
			}
			out, code := cairn(t, append([]string{"backup", "delete", "--location", loc},
				tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tt.code, out)
			}
			for _, b := range tt.deleted {
				if !strings.Contains(out, "backup "+b+" deleted\n") {
					t.Errorf("backup %s not said deleted:\n%s", b, out)
				}
			}
			for _, b := range tt.missing {
				if !strings.Contains(out, "cairn: backup not found: "+b+" in ") {
					t.Errorf("backup %s not reported as not found:\n%s", b, out)
				}
			}
			if got := storedBackups(t, loc); !slices.Equal(got, tt.left) {
				t.Errorf("backups left: %q, want %q", got, tt.left)
			}
			_, err := os.Stat(filepath.Join(loc, "backups"))
			if tt.noFolder && !os.IsNotExist(err) {
				t.Errorf("the backups folder is left: %v", err)
			}
			if _, err := os.Stat(loc); err != nil {
				t.Errorf("the location's folder was removed: %v", err)
			}
		})
	}
}

// storeBackup writes what backup delete reads of a backup: its manifest,
// beside an archive and a log.
func storeBackup(t *testing.T, loc, name string) {
	t.Helper()
	for _, f := range []string{"manifest.json", "archive-1.tar.zst", "log-1.jsonl"} {
		writeTestFile(t, filepath.Join(loc, "backups", name, f))
	}
}

func writeTestFile(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// storedBackups returns the folders under backups/ that hold a manifest.
func storedBackups(t *testing.T, loc string) []string {
	t.Helper()
	found, err := filepath.Glob(filepath.Join(loc, "backups", "*", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range found {
		names = append(names, filepath.Base(filepath.Dir(f)))
	}
	return names
}
