package location_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
