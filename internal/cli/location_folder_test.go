package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/config"
	"github.com/cairn-backup/cairn/test/nobody"
)

// TestLocationAddFolder checks that location add creates a missing folder,
// saying so, and refuses a path that is not a folder as bad input.
func TestLocationAddFolder(t *testing.T) {
	useConfig(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		want   string
		folder string // a folder that must exist afterwards, if any
	}{
		{"Missing", []string{"new", filepath.Join(dir, "a", "b"), "--default"}, 0,
			"folder " + filepath.Join(dir, "a", "b") + " created", filepath.Join(dir, "a", "b")},
		{"Existing", []string{"old", dir}, 0, "added: file://" + dir + "\ntry it", dir},
		{"File", []string{"f", file}, 2, file + ": not a folder", ""},
		{"UnderAFile", []string{"f", filepath.Join(file, "x")}, 2, "not a folder", ""},
		{"ReadOnlyMissing", []string{"ro", filepath.Join(dir, "ro"), "--read-only"}, 2,
			"not created", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := cairn(t, append([]string{"location", "add"}, tt.args...)...)
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s", code, tt.code, tt.want, out)
			}
			if tt.folder != "" {
				if st, err := os.Stat(tt.folder); err != nil || !st.IsDir() {
					t.Fatalf("folder %s: %v", tt.folder, err)
				}
			}
			if tt.code != 0 {
				if out, _ := cairn(t, "location", "list"); strings.Contains(out, tt.args[0]+" ") {
					t.Fatalf("a refused location was added:\n%s", out)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "ro")); !os.IsNotExist(err) {
		t.Fatalf("a read-only location's folder was made: %v", err)
	}
	if out, code := cairn(t, "location", "check", "--size-mb", "1"); code != 0 {
		t.Fatalf("check of the created default: exit %d:\n%s", code, out)
	}
}

// TestMissingConfiguredFolder checks that a configured location whose
// folder is gone, given by name or used as the default, is reported by the
// commands that read it, as a folder given by path is, and not made.
func TestMissingConfiguredFolder(t *testing.T) {
	useConfig(t)
	gone := filepath.Join(t.TempDir(), "gone")
	if out, code := cairn(t, "location", "add", "gone", gone, "--default"); code != 0 {
		t.Fatalf("add: exit %d: %s", code, out)
	}
	if err := os.RemoveAll(gone); err != nil { // made by location add
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
	}{
		{"BackupListByName", []string{"backup", "list", "--location", "gone"}},
		{"BackupListDefault", []string{"backup", "list"}},
		{"RestoreListDefault", []string{"restore", "list"}},
		{"BackupDeleteDefault", []string{"backup", "delete", "x"}},
		{"CheckByName", []string{"location", "check", "gone"}},
		{"CheckDefault", []string{"location", "check"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := cairn(t, tt.args...)
			if code != 1 || !strings.Contains(out, "folder "+gone+": not found") {
				t.Fatalf("exit %d, output %q; want exit 1 and not found", code, out)
			}
			if strings.Contains(out, "no backups") || strings.Contains(out, "no restores") {
				t.Fatalf("a missing folder was shown empty: %s", out)
			}
			if _, err := os.Stat(gone); !os.IsNotExist(err) {
				t.Fatalf("the folder was made: %v", err)
			}
		})
	}
}

// TestListUnreadableFolder runs backup list and restore list as a user who
// may not read a folder of the location (see package nobody): the list
// fails naming the folder, and does not show the location empty.
func TestListUnreadableFolder(t *testing.T) {
	bin := nobody.Executable(t, buildCairn(t))
	tests := []struct {
		name  string
		files []string
		shut  string // a folder made unreadable, "." for the location's
		args  []string
		want  string
	}{
		{"BackupsShut", []string{"backups/b1/manifest.json"}, "backups",
			[]string{"backup", "list"}, "/backups: permission denied"},
		{"LocationShut", []string{"backups/b1/manifest.json"}, ".",
			[]string{"backup", "list", "-o", "json"}, "/backups: permission denied"},
		{"OneBackupShut", []string{"backups/b1/manifest.json", "backups/b2/manifest.json"},
			"backups/b2", []string{"backup", "list"}, "/backups/b2: permission denied"},
		{"RestoresShut", []string{"restores/r1/record.json"}, "restores",
			[]string{"restore", "list"}, "/restores: permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := nobody.Dir(t)
			loc := filepath.Join(home, "loc")
			for _, f := range tt.files {
				p := filepath.Join(loc, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(filepath.Join(loc, tt.shut), 0); err != nil {
				t.Fatal(err)
			}
			env := []string{"HOME=" + home, config.PathEnv + "=" +
				filepath.Join(home, "config.yaml")}
			cmd := nobody.Command(t, env, bin, append(tt.args, "--location", loc)...)
			stdout, stderr, code := nobody.Output(t, cmd)
			if code != 1 || !strings.Contains(stderr, loc+tt.want) {
				t.Fatalf("exit %d, stderr %q; want exit 1 and %q", code, stderr, loc+tt.want)
			}
			if stdout != "" || strings.Contains(stderr, "no backups") ||
				strings.Contains(stderr, "no restores") {
				t.Fatalf("the location was shown empty: stdout %q, stderr %q", stdout, stderr)
			}
		})
	}
}
