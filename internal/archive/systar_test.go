package archive

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSystemTar checks the promise that an archive opens with plain tar
// and zstd.
func TestSystemTar(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("no tar on PATH")
	}
	objs := fixtureObjects()
	archive, _ := writeArchive(t, objs)
	want := []string{FormatEntry}
	for _, o := range objs {
		want = append(want, o.Ref.Path())
	}
	want = append(want, IndexEntryName)

	dir := t.TempDir()
	file := filepath.Join(dir, "archive.tar.zst")
	if err := os.WriteFile(file, archive, 0o644); err != nil {
		t.Fatal(err)
	}

	var list *exec.Cmd
	if _, err := exec.LookPath("zstd"); err == nil {
		list = exec.Command("tar", "--zstd", "-tf", file)
	} else {
		t.Log("no zstd on PATH; decompressing in the test and listing with tar alone")
		list = exec.Command("tar", "-tf", "-")
		list.Stdin = bytes.NewReader(decompress(t, archive))
	}
	out, err := list.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", list, err, out)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if !slices.Equal(got, want) {
		t.Errorf("tar lists\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	if list.Stdin != nil {
		return
	}
	into := filepath.Join(dir, "x")
	if err := os.Mkdir(into, 0o755); err != nil {
		t.Fatal(err)
	}
	extract := exec.Command("tar", "--zstd", "-xf", file, "-C", into)
	if out, err := extract.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", extract, err, out)
	}
	for _, o := range objs {
		data, err := os.ReadFile(filepath.Join(into, filepath.FromSlash(o.Ref.Path())))
		if err != nil || !bytes.Equal(data, o.Data) {
			t.Errorf("extracted %s: %q, %v; want %q", o.Ref.Path(), data, err, o.Data)
		}
	}
}
