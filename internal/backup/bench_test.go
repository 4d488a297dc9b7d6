package backup

import (
	"context"
	"fmt"
	"testing"

	"github.com/cairn-backup/cairn/internal/archive"
)

// BenchmarkBackup backs up a namespace of 10,000 ConfigMaps of 1 KiB per
// iteration; run it with -cpuprofile to see where a backup's time goes.
func BenchmarkBackup(b *testing.B) {
	e := newEnv(b)
	e.cp.CreateConfigMaps(b, e.ns, 10000, 1024)
	objects := 0
	b.ResetTimer()
	for i := range b.N {
		m, err := Run(context.Background(), e.request(fmt.Sprintf("bench-%d", i),
			archive.Spec{IncludeNamespaces: []string{e.ns}}))
		if err != nil {
			b.Fatal(err)
		}
		objects += m.Totals.Objects
	}
	b.ReportMetric(float64(objects)/b.Elapsed().Seconds(), "objects/s")
}
