package restore

import (
	"context"
	"fmt"
	"testing"

	"github.com/cairn-backup/cairn/internal/archive"
)

// BenchmarkRestore restores 2,000 ConfigMaps into a fresh namespace per
// iteration; run it with -cpuprofile to see where a restore's time goes.
func BenchmarkRestore(b *testing.B) {
	e := newEnv(b)
	e.cp.CreateConfigMaps(b, e.ns, 2000, 1024)
	m := e.backup(b, archive.Spec{})
	objects := 0
	b.ResetTimer()
	for i := range b.N {
		dst := fmt.Sprintf("%s-r%d", e.ns, i)
		e.cleanupNamespace(b, dst)
		rec, err := Run(context.Background(), Request{Name: fmt.Sprintf("bench-%d", i),
			Backup: m.Name, Cluster: e.c, Location: e.loc,
			Spec: Spec{NamespaceMappings: map[string]string{e.ns: dst}}})
		if err != nil {
			b.Fatal(err)
		}
		if rec.Phase != PhaseCompleted {
			b.Fatalf("phase %s: %v", rec.Phase, rec.Errors)
		}
		objects += rec.Counts.Created
	}
	b.ReportMetric(float64(objects)/b.Elapsed().Seconds(), "objects/s")
}
