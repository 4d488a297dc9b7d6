package archive

import (
	"bytes"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func fixtureManifest() *Manifest {
	digest := strings.Repeat("ab", 32)
	return &Manifest{
		FormatVersion: FormatVersion,
		Name:          "nightly-1",
		UID:           "0b7e5f2c-4d1a-4c3e-9f7a-2a6d8e1b3c5d",
		Phase:         PhasePartiallyFailed,
		Spec: Spec{
			IncludeNamespaces:       []string{"shop", "team-*"},
			ExcludeResources:        []string{"secrets"},
			Selector:                "app.kubernetes.io/part-of=shop",
			OrSelectors:             []string{"tier=web", "tier=db"},
			IncludeClusterResources: ClusterResourcesAuto,
		},
		Cluster: ClusterInfo{
			Server: "127.0.0.1:6443", UID: "3f4e2a10-1b2c-4d5e-8f90-a1b2c3d4e5f6",
			KubernetesVersion: "v1.34.1",
		},
		ResourceVersion: "48213",
		StartTime:       fixtureTime,
		EndTime:         fixtureTime.Add(42 * time.Second),
		Archive: ArchiveInfo{
			Key:         "backups/nightly-1/archive-0b7e5f2c-4d1a-4c3e-9f7a-2a6d8e1b3c5d.tar.zst",
			Size:        18231,
			SHA256:      digest,
			Compression: CompressionZstd,
		},
		Index: IndexInfo{Objects: 4, SHA256: digest},
		Types: []TypeInfo{
			{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true,
				Count: 2, ResourceVersion: "48213", Consistency: ConsistencySnapshot},
			{Group: "metrics.k8s.io", Version: "v1beta1", Resource: "pods", Kind: "PodMetrics",
				Namespaced: true, Count: 1, ResourceVersion: "0", Consistency: ConsistencyLive,
				Reason: "served by an aggregated API server"},
			{Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment",
				Namespaced: true, Count: 1, ResourceVersion: "50117",
				Consistency: ConsistencyFresh, Reason: "snapshot revision compacted (410 Gone)"},
		},
		Warnings: []Problem{{Resource: "events", Action: "skip", Reason: "events are excluded"}},
		Errors: []Problem{{
			Object: &ObjectRef{Group: "example.test", Version: "v1", Resource: "widgets",
				Namespace: "shop", Name: "w1"},
			Action: "list", Reason: "the server is currently unable to handle the request",
		}},
		Totals: Totals{Objects: 4, Bytes: 9120},
	}
}

func TestManifestGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := fixtureManifest().Encode(&buf); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	golden(t, "manifest.json", buf.Bytes())

	m, err := DecodeManifest(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("DecodeManifest: %v", err)
	}
	if !reflect.DeepEqual(m, fixtureManifest()) {
		t.Errorf("decoded %+v, want %+v", m, fixtureManifest())
	}
}

func TestManifestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Manifest)
		want   error
		says   string
	}{
		{"valid", func(*Manifest) {}, nil, ""},
		{"failed without an archive", func(m *Manifest) {
			m.Phase, m.Archive, m.Cluster, m.ResourceVersion = PhaseFailed, ArchiveInfo{},
				ClusterInfo{}, ""
		}, nil, ""},
		{"no format version", func(m *Manifest) { m.FormatVersion = 0 },
			ErrInvalidManifest, "formatVersion is missing"},
		{"newer format version", func(m *Manifest) { m.FormatVersion = 2 },
			ErrUnsupportedVersion, "version 2"},
		{"no name", func(m *Manifest) { m.Name = "" }, ErrInvalidManifest, "name"},
		{"name with a slash", func(m *Manifest) { m.Name = "a/b" }, ErrInvalidManifest,
			"slash"},
		{"uid with a slash", func(m *Manifest) { m.UID = "a/b" }, ErrInvalidManifest, "uid"},
		{"unknown phase", func(m *Manifest) { m.Phase = "Done" }, ErrInvalidManifest,
			`phase "Done"`},
		{"completed with errors", func(m *Manifest) { m.Phase = PhaseCompleted },
			ErrInvalidManifest, "1 errors"},
		{"partially failed without errors", func(m *Manifest) { m.Errors = nil },
			ErrInvalidManifest, "no errors"},
		{"end before start", func(m *Manifest) { m.EndTime = m.StartTime.Add(-time.Second) },
			ErrInvalidManifest, "before startTime"},
		{"no start", func(m *Manifest) { m.StartTime = time.Time{} }, ErrInvalidManifest,
			"startTime is missing"},
		{"bad cluster resources", func(m *Manifest) { m.Spec.IncludeClusterResources = "yes" },
			ErrInvalidManifest, "includeClusterResources"},
		{"no cluster uid", func(m *Manifest) { m.Cluster.UID = "" }, ErrInvalidManifest,
			"cluster.uid"},
		{"no snapshot revision", func(m *Manifest) { m.ResourceVersion = "" },
			ErrInvalidManifest, "resourceVersion is missing"},
		{"short archive digest", func(m *Manifest) { m.Archive.SHA256 = "abc" },
			ErrInvalidManifest, "archive.sha256"},
		{"other compression", func(m *Manifest) { m.Archive.Compression = "gzip" },
			ErrInvalidManifest, "archive.compression"},
		{"index count off", func(m *Manifest) { m.Index.Objects = 3 }, ErrInvalidManifest,
			"index.objects"},
		{"type counts off", func(m *Manifest) { m.Types[0].Count = 5 }, ErrInvalidManifest,
			"types count"},
		{"unknown consistency", func(m *Manifest) { m.Types[1].Consistency = "stale" },
			ErrInvalidManifest, "types[1].consistency"},
		{"problem without a reason", func(m *Manifest) { m.Warnings[0].Reason = "" },
			ErrInvalidManifest, "warnings[0].reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fixtureManifest()
			tt.change(m)
			err := m.Validate()
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Validate: %v, want %v", err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), tt.says) {
				t.Errorf("Validate: %v, want it to mention %q", err, tt.says)
			}
		})
	}
}

func TestDecodeManifestRefuses(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want error
	}{
		{"not JSON", "formatVersion: 1", ErrInvalidManifest},
		{"no version", `{"name":"a"}`, ErrInvalidManifest},
		{"newer version", `{"formatVersion":2,"whatever":{"new":true}}`, ErrUnsupportedVersion},
		{"missing fields", `{"formatVersion":1}`, ErrInvalidManifest},
		{"wrong type", `{"formatVersion":1,"types":"many"}`, ErrInvalidManifest},
		{"trailing data", `{"formatVersion":1} {}`, ErrInvalidManifest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeManifest(strings.NewReader(tt.doc)); !errors.Is(err, tt.want) {
				t.Errorf("DecodeManifest: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecodeManifestIgnoresUnknownFields(t *testing.T) {
	var buf bytes.Buffer
	if err := fixtureManifest().Encode(&buf); err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(buf.String(), `"name":`, `"addedLater": [1, 2], "name":`, 1)
	if _, err := DecodeManifest(strings.NewReader(doc)); err != nil {
		t.Errorf("DecodeManifest: %v", err)
	}
}

func TestNewUID(t *testing.T) {
	uuid := regexp.MustCompile(
		`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := NewUID(), NewUID()
	if !uuid.MatchString(a) || a == b || !isUID(a) {
		t.Errorf("NewUID gave %q and %q", a, b)
	}
}
