package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	agelib "filippo.io/age"

	"github.com/cairn-backup/cairn/test/s3server"
)

// repoSource writes a small folder to back up.
func repoSource(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"a.txt":         "alpha\n",
		"sub/b.bin":     strings.Repeat("0123456789abcdef", 70000),
		"sub/deep/c.md": "# c\n",
	}
	for name, data := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// sameFiles compares the regular files and symlinks of two folders.
func sameFiles(t *testing.T, want, got string) {
	t.Helper()
	err := filepath.WalkDir(want, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(want, path)
		other := filepath.Join(got, rel)
		if d.Type()&os.ModeSymlink != 0 {
			a, _ := os.Readlink(path)
			b, err := os.Readlink(other)
			if err != nil || a != b {
				t.Errorf("%s: link %q, %v; want %q", rel, b, err, a)
			}
			return nil
		}
		a, _ := os.ReadFile(path)
		b, err := os.ReadFile(other)
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: restored content differs: %v", rel, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// snapshotIDs returns the ids that `cairn repo list -o json` prints.
func snapshotIDs(t *testing.T, repo string, extra ...string) []string {
	t.Helper()
	out, code := cairn(t, append([]string{"repo", "list", "--repo", repo, "-o", "json"},
		extra...)...)
	var list []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || code != 0 {
		t.Fatalf("repo list -o json: exit %d, %v: %s", code, err, out)
	}
	ids := make([]string, len(list))
	for i, s := range list {
		ids[i] = s.ID
	}
	return ids
}

func TestRepoCommands(t *testing.T) {
	useConfig(t)
	t.Setenv(passwordEnv, "repo test password")
	repo := filepath.Join(t.TempDir(), "repo")
	src := repoSource(t)
	dst := filepath.Join(t.TempDir(), "restored")

	runSteps(t, []cliStep{
		{"Init", []string{"repo", "init", "--repo", repo}, 0, "passphrase mode"},
		{"InitAgain", []string{"repo", "init", "--repo", repo}, 1, "already exists"},
		{"Snapshot", []string{"repo", "snapshot", src, "--repo", repo, "--tag", "one"}, 0,
			"Snapshot "},
		{"SnapshotUnchanged", []string{"repo", "snapshot", src, "--repo", repo}, 0, "0 B new"},
		{"List", []string{"repo", "list", "--repo", repo}, 0, "one"},
		{"Restore", []string{"repo", "restore", "latest", dst, "--repo", repo}, 0,
			"Restored snapshot"},
		{"RestoreAgain", []string{"repo", "restore", "latest", dst, "--repo", repo}, 0,
			"0 files, 0 folders, 0 B; 6 unchanged"},
		{"RestoreSkipExisting", []string{"repo", "restore", "latest", dst, "--repo", repo,
			"--skip-existing"}, 0, "skipped: sub/b.bin: already exists"},
		{"RestoreBothPolicies", []string{"repo", "restore", "latest", dst, "--repo", repo,
			"--skip-existing", "--overwrite"}, 2, "exclude each other"},
		{"RestoreHelp", []string{"repo", "restore", "--help"}, 0, "--skip-existing"},
		{"CheckReadData", []string{"repo", "check", "--repo", repo, "--read-data"}, 0,
			"No errors found"},
	})
	sameFiles(t, src, dst)

	ids := snapshotIDs(t, repo)
	if len(ids) != 2 {
		t.Fatalf("%d snapshots listed, want 2", len(ids))
	}
	runSteps(t, []cliStep{
		{"ForgetDryRun", []string{"repo", "forget", "--keep-last", "1", "--repo", repo,
			"--dry-run"}, 0, "Would remove snapshot " + ids[0][:8]},
		{"Forget", []string{"repo", "forget", ids[0][:8], "--repo", repo}, 0, "1 removed"},
		{"PruneMarks", []string{"repo", "prune", "--repo", repo}, 0, "Condemned"},
		{"PruneSweeps", []string{"repo", "prune", "--repo", repo, "-o", "json"}, 0,
			`"marksSwept"`},
		{"CheckAfterPrune", []string{"repo", "check", "--repo", repo, "--read-data=50"}, 0,
			"No errors found"},
	})
	if got := snapshotIDs(t, repo); len(got) != 1 || got[0] != ids[1] {
		t.Fatalf("after forget: %v, want [%s]", got, ids[1])
	}
}

// TestRepoCorruption damages every pack and checks that check reports it
// and restore refuses it.
func TestRepoCorruption(t *testing.T) {
	useConfig(t)
	t.Setenv(passwordEnv, "repo test password")
	repo := filepath.Join(t.TempDir(), "repo")
	runSteps(t, []cliStep{
		{"Init", []string{"repo", "init", "--repo", repo}, 0, "Created"},
		{"Snapshot", []string{"repo", "snapshot", repoSource(t), "--repo", repo}, 0, "Snapshot"},
	})
	packs, err := filepath.Glob(filepath.Join(repo, "data", "*", "*"))
	if err != nil || len(packs) == 0 {
		t.Fatalf("no packs: %v", err)
	}
	for _, p := range packs {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/3] ^= 0xff
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	runSteps(t, []cliStep{
		{"CheckReadData", []string{"repo", "check", "--repo", repo, "--read-data"}, 1,
			"repository data is corrupt"},
		{"Restore", []string{"repo", "restore", "latest", t.TempDir(), "--repo", repo}, 1,
			"repository data is corrupt"},
	})
}

// TestRepoWriteOnly uses a recipient-mode repository: the password writes,
// only the identity reads.
func TestRepoWriteOnly(t *testing.T) {
	useConfig(t)
	t.Setenv(passwordEnv, "writer password")
	id, err := agelib.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	idFile := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(t.TempDir(), "repo")
	src := repoSource(t)
	dst := filepath.Join(t.TempDir(), "restored")
	runSteps(t, []cliStep{
		{"Init", []string{"repo", "init", "--repo", repo, "--recipient",
			id.Recipient().String()}, 0, "recipient mode"},
		{"Snapshot", []string{"repo", "snapshot", src, "--repo", repo}, 0, "Snapshot"},
		{"SnapshotDedups", []string{"repo", "snapshot", src, "--repo", repo}, 0, "0 B new"},
		{"ListWriteOnly", []string{"repo", "list", "--repo", repo}, 1, "write-only"},
		{"RestoreWriteOnly", []string{"repo", "restore", "latest", dst, "--repo", repo}, 1,
			"write-only"},
		{"CheckWriteOnly", []string{"repo", "check", "--repo", repo, "--read-data"}, 0,
			"Write-only"},
		{"RestoreWithIdentity", []string{"repo", "restore", "latest", dst, "--repo", repo,
			"--identity-file", idFile}, 0, "Restored"},
	})
	sameFiles(t, src, dst)
}

// TestRepoOnS3 keeps a repository in an S3 bucket, by URL and by a named,
// then read-only, location.
func TestRepoOnS3(t *testing.T) {
	path := useConfig(t)
	t.Setenv(passwordEnv, "s3 password")
	srv := s3server.New(t, s3server.Options{})
	srv.Bucket(t, "volumes")
	url := srv.URL("volumes", "repo")
	creds := srv.Credentials(t)
	src := repoSource(t)
	dst := filepath.Join(t.TempDir(), "restored")

	runSteps(t, []cliStep{
		{"Init", []string{"repo", "init", "--repo", url, "--credentials-file", creds}, 0,
			"Created"},
		{"Snapshot", []string{"repo", "snapshot", src, "--repo", url, "--credentials-file",
			creds}, 0, "Snapshot"},
		{"AddLocation", []string{"location", "add", "vol", url, "--credentials-file", creds},
			0, "added"},
		{"CheckByName", []string{"repo", "check", "--repo", "vol", "--read-data"}, 0,
			"No errors found"},
		{"RestoreByName", []string{"repo", "restore", "latest", dst, "--repo", "vol"}, 0,
			"Restored"},
		{"AddReadOnly", []string{"location", "add", "vol-ro", url, "--read-only",
			"--credentials-file", creds}, 0, "added"},
		{"SnapshotReadOnly", []string{"repo", "snapshot", src, "--repo", "vol-ro"}, 2,
			"read-only"},
		{"ListReadOnly", []string{"repo", "list", "--repo", "vol-ro"}, 0, src},
	})
	sameFiles(t, src, dst)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("client configuration: %v", err)
	}
}

func TestRepoBadInput(t *testing.T) {
	useConfig(t)
	t.Setenv(passwordEnv, "right password")
	repo := filepath.Join(t.TempDir(), "repo")
	if out, code := cairn(t, "repo", "init", "--repo", repo); code != 0 {
		t.Fatalf("init: exit %d: %s", code, out)
	}
	missing := filepath.Join(t.TempDir(), "typo")
	wrong := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(wrong, []byte("wrong password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runSteps(t, []cliStep{
		{"NoRepo", []string{"repo", "list"}, 2, "--repo is required"},
		{"WrongPassword", []string{"repo", "list", "--repo", repo, "--password-file", wrong}, 2,
			"no repository key opens"},
		{"ReadDataRange", []string{"repo", "check", "--repo", repo, "--read-data=150"}, 2,
			"not a percentage"},
		{"ForgetNothing", []string{"repo", "forget", "--repo", repo}, 2,
			"name snapshots or give a --keep-* policy"},
		{"ForgetBoth", []string{"repo", "forget", "abc", "--keep-last", "1", "--repo", repo}, 2,
			"not both"},
		{"UnknownName", []string{"repo", "list", "--repo", "typo"}, 2, "--repo: "},
		{"UnknownSnapshot", []string{"repo", "restore", "ffff", t.TempDir(), "--repo", repo},
			1, "not found"},
		{"BadChunker", []string{"repo", "init", "--repo", t.TempDir(), "--chunk-min", "9000000"},
			2, "chunk sizes"},
		{"MissingFolder", []string{"repo", "list", "--repo", missing}, 1, "cairn repo init"},
		{"MissingFolderSnapshot", []string{"repo", "snapshot", t.TempDir(), "--repo", missing}, 1,
			"cairn repo init"},
		{"EmptyFolder", []string{"repo", "check", "--repo", t.TempDir()}, 1, "cairn repo init"},
	})
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("a command on a missing repository made its folder: %v", err)
	}
}
