package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/config"
	"github.com/cairn-backup/cairn/test/nobody"
)

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
