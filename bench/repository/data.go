package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// writeMixed fills dir with about size bytes: files from 4 KiB to 64 MiB,
// half of the bytes random (incompressible), a third text-like (compresses
// about 3:1), the rest zero runs inside data and sparse files with holes.
func writeMixed(dir string, size int64) (int, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	chacha := rand.NewChaCha8([32]byte{1})
	var written int64
	n := 0
	for written < size {
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", n%16), fmt.Sprintf("e%d", n%5))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return n, err
		}
		fsize := fileSize(rng)
		fsize = min(fsize, size-written)
		path := filepath.Join(sub, fmt.Sprintf("f%05d", n))
		var err error
		switch kind := n % 10; {
		case kind < 5:
			err = writeRandom(path, chacha, fsize)
		case kind < 8:
			err = writeText(path, rng, fsize)
		default:
			err = writeSparse(path, chacha, fsize)
		}
		if err != nil {
			return n, err
		}
		written += fsize
		n++
	}
	return n, nil
}

func fileSize(rng *rand.Rand) int64 {
	switch p := rng.IntN(100); {
	case p < 60:
		return 4<<10 + rng.Int64N(256<<10)
	case p < 90:
		return 256<<10 + rng.Int64N(8<<20)
	default:
		return 8<<20 + rng.Int64N(56<<20)
	}
}

func writeRandom(path string, src *rand.ChaCha8, size int64) error {
	data := make([]byte, size)
	_, _ = src.Read(data)
	return os.WriteFile(path, data, 0o644)
}

var words = strings.Fields(`volume backup cluster namespace restore snapshot pod
	storage chunk index pack tree node file folder kubernetes object bucket log
	replica service deployment secret config map label annotation`)

func writeText(path string, rng *rand.Rand, size int64) error {
	var b bytes.Buffer
	b.Grow(int(size) + 64)
	for int64(b.Len()) < size {
		fmt.Fprintf(&b, "%d %s %s %s\n", rng.IntN(1_000_000), words[rng.IntN(len(words))],
			words[rng.IntN(len(words))], words[rng.IntN(len(words))])
	}
	return os.WriteFile(path, b.Bytes()[:size], 0o644)
}

// writeSparse writes data at the start and the end of a file with a hole
// (or, for small files, a run of zeros) between.
func writeSparse(path string, src *rand.ChaCha8, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	part := make([]byte, size/4)
	_, _ = src.Read(part)
	if _, err := f.WriteAt(part, 0); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteAt(part, size-int64(len(part))); err != nil {
		f.Close()
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// changeOnePercent overwrites 4 KiB in the middle of files picked at random
// until the files touched hold 1% of the bytes. It returns how many.
func changeOnePercent(dir string, size int64) (int, error) {
	var paths []string
	var sizes []int64
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && fi.Size() > 8192 {
			paths, sizes = append(paths, p), append(sizes, fi.Size())
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	rng := rand.New(rand.NewPCG(3, 4))
	patch := make([]byte, 4096)
	var touched int64
	n := 0
	for _, i := range rng.Perm(len(paths)) {
		if touched >= size/100 {
			break
		}
		if sizes[i] > size/500 {
			continue // spread the change over several files
		}
		for j := range patch {
			patch[j] = byte(rng.Uint32())
		}
		f, err := os.OpenFile(paths[i], os.O_WRONLY, 0)
		if err != nil {
			return n, err
		}
		_, err = f.WriteAt(patch, sizes[i]/2)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return n, err
		}
		touched += sizes[i]
		n++
	}
	return n, nil
}
