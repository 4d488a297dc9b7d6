package archive

import (
	"fmt"
	"io"
	"runtime"
	"testing"
)

// TestWriterMemoryFlat adds 200,000 small objects and checks that the
// writer's heap after the last is no larger than after the first 20,000:
// the index and the duplicate check live on disk, not in memory.
func TestWriterMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200,000 objects")
	}
	const warm, total = 20_000, 200_000
	// Holding every object's path and digest in memory would take about
	// 100 bytes an object, 18 MB for the 180,000 added after the first
	// measure; a flat writer stays far below this.
	const allowed = 2 << 20

	w, err := NewWriter(io.Discard, WriterOptions{TempDir: t.TempDir(), ModTime: fixtureTime})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()

	var data []byte
	var before uint64
	for i := range total {
		if i == warm {
			before = heapInuse()
		}
		name := fmt.Sprintf("cm-%06d", i)
		data = fmt.Appendf(data[:0],
			`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"namespace":"bulk"},`+
				`"data":{"k":"%d"}}`, name, i)
		ref := ObjectRef{Version: "v1", Resource: "configmaps", Namespace: "bulk", Name: name}
		if err := w.Add(Object{Ref: ref, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	after := heapInuse()

	t.Logf("heap in use after %d objects: %d KiB; after %d: %d KiB",
		warm, before>>10, total, after>>10)
	if after > before+allowed {
		t.Errorf("heap grew by %d KiB over %d objects, more than %d KiB",
			(after-before)>>10, total-warm, allowed>>10)
	}
	sum, err := w.Close()
	if err != nil || sum.Objects != total {
		t.Fatalf("Close: %+v, %v", sum, err)
	}
}

func heapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
