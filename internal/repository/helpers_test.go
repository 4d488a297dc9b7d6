package repository

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
)

const testPassword = "correct horse battery staple"

// testChunker keeps chunks and packs small so tests exercise many of each.
var testChunker = ChunkerParams{MinSize: 16 << 10, MaxSize: 256 << 10, AverageBits: 15}

func openBucket(t *testing.T, dir string) *blob.Bucket {
	t.Helper()
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{CreateDir: true, NoTempDir: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// newTestRepo creates a passphrase repository in a temporary folder.
func newTestRepo(t *testing.T, o InitOptions) (*Repository, string) {
	t.Helper()
	dir := t.TempDir()
	if o.Password == "" {
		o.Password = testPassword
	}
	if o.Chunker == (ChunkerParams{}) {
		o.Chunker = testChunker
	}
	if o.PackSize == 0 {
		o.PackSize = 512 << 10
	}
	o.WorkFactor = 10
	r, err := Init(t.Context(), openBucket(t, dir), o)
	if err != nil {
		t.Fatal(err)
	}
	return r, dir
}

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(seed uint64, n int) []byte {
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	out := make([]byte, n)
	_, _ = rng.Read(out)
	return out
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// dataTree writes a folder with files of assorted sizes and content.
func dataTree(t *testing.T, seed uint64, files int) string {
	t.Helper()
	dir := t.TempDir()
	for i := range files {
		size := []int{0, 100, 5000, 70 << 10, 600 << 10}[i%5]
		data := randomBytes(seed*1000+uint64(i), size)
		if i%3 == 0 {
			data = bytes.Repeat([]byte("compressible text "), size/18+1)[:size]
		}
		writeFile(t, filepath.Join(dir, "d"+string(rune('a'+i%4)), "f"+itoa(i)), data)
	}
	return dir
}

// uniqueTree writes a folder of files of assorted sizes whose content is
// random, so no two files share a chunk.
func uniqueTree(t *testing.T, seed uint64, files int) string {
	t.Helper()
	dir := t.TempDir()
	for i := range files {
		size := []int{100, 5000, 70 << 10, 600 << 10}[i%4]
		writeFile(t, filepath.Join(dir, "d"+string(rune('a'+i%4)), "f"+itoa(i)),
			randomBytes(seed*1000+uint64(i), size))
	}
	return dir
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
