package backup

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/cluster"
)

// configMapPage is a list page of n ConfigMaps of 1 KiB as the API server
// writes it: built-in items without apiVersion and kind, managedFields
// included.
func configMapPage(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"kind":"ConfigMapList","apiVersion":"v1","metadata":` +
		`{"resourceVersion":"123456","continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"},"items":[`)
	value := strings.Repeat("x", 1024)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"metadata":{"name":"cm-%06d","namespace":"scale-%02d",`+
			`"uid":"0b6f3a5e-4c1d-4f0e-9a7b-%012d","resourceVersion":"%d",`+
			`"creationTimestamp":"2026-12-04T10:00:00Z","labels":{"app":"scale","bench":"cm"},`+
			`"managedFields":[{"manager":"bench","operation":"Update","apiVersion":"v1",`+
			`"time":"2026-12-04T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":`+
			`{"f:data":{".":{},"f:value":{}},"f:metadata":{"f:labels":{".":{},"f:app":{},`+
			`"f:bench":{}}}}}]},"data":{"value":"%s"}}`, i, i%50, i, 1000+i, value)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkPage reads one list page of 500 ConfigMaps into an archive, the
// client's share of a backup's work per page, without an API server.
func BenchmarkPage(b *testing.B) {
	body := configMapPage(500)
	l := &lister{res: cluster.Resource{
		GroupVersionResource: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"},
		Kind:                 "ConfigMap", Namespaced: true,
	}}
	aw, err := archive.NewWriter(io.Discard, archive.WriterOptions{TempDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer aw.Abort()
	r := newRefs()
	b.SetBytes(int64(len(body)))
	n := 0
	for b.Loop() {
		err := splitItems(body, func(raw []byte) error {
			it, err := l.item(raw)
			if err != nil {
				return err
			}
			h := it.head.Metadata
			if err := r.collect("configmaps", "", "configmaps", h.Namespace, it.data); err != nil {
				return err
			}
			n++
			ref := archive.ObjectRef{Version: "v1", Resource: "configmaps",
				Namespace: h.Namespace, Name: h.Name + "-" + strconv.Itoa(n)}
			return aw.Add(archive.Object{Ref: ref, Data: it.data})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "objects/s")
}
