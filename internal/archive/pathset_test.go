package archive

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestPathSet(t *testing.T) {
	tests := []struct {
		name    string
		logBits uint
	}{
		// A filter of 64 bits is full after a few paths, so nearly every
		// lookup is settled by the scan of the fingerprint file.
		{"tiny filter", 6},
		{"default filter", defaultSetBits},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "fp"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s := newPathSet(f, tt.logBits)

			const n = 2000
			for i := range n {
				if dup, err := s.add(fmt.Sprint("p", i)); dup || err != nil {
					t.Fatalf("first add of p%d: dup %t, %v", i, dup, err)
				}
			}
			for i := 0; i < n; i += 97 {
				if dup, err := s.add(fmt.Sprint("p", i)); !dup || err != nil {
					t.Fatalf("second add of p%d: dup %t, %v", i, dup, err)
				}
			}
			if s.count != n {
				t.Errorf("%d fingerprints spooled, want %d", s.count, n)
			}
		})
	}
}
