package archive

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Phase is how a backup ended.
type Phase string

// The phases a manifest records.
const (
	// PhaseCompleted: every selected object is in the archive.
	PhaseCompleted Phase = "Completed"
	// PhasePartiallyFailed: the archive is complete and valid, but some
	// objects or types could not be read; Errors names them.
	PhasePartiallyFailed Phase = "PartiallyFailed"
	// PhaseFailed: the backup stopped; the archive, if any, is unusable.
	PhaseFailed Phase = "Failed"
)

// Consistency says at which point in time a type's objects were read.
type Consistency string

// The consistency of a type's objects.
const (
	// ConsistencySnapshot: listed at the backup's snapshot resourceVersion.
	ConsistencySnapshot Consistency = "snapshot"
	// ConsistencyLive: served by an aggregated API server, which cannot
	// list at a past revision, so read as it was at the time.
	ConsistencyLive Consistency = "live"
	// ConsistencyFresh: the snapshot revision was compacted (410 Gone)
	// before this type was listed, so it was re-read at a newer revision.
	ConsistencyFresh Consistency = "fresh"
)

// Values of Spec.IncludeClusterResources.
const (
	// ClusterResourcesAuto takes the cluster-scoped objects that the
	// selected namespaced objects depend on.
	ClusterResourcesAuto = "auto"
	// ClusterResourcesTrue takes all selected cluster-scoped objects.
	ClusterResourcesTrue = "true"
	// ClusterResourcesFalse takes no cluster-scoped objects.
	ClusterResourcesFalse = "false"
)

// CompressionZstd is the only archive compression of format version 1.
const CompressionZstd = "zstd"

// maxManifestSize bounds a manifest a reader accepts; a manifest listing a
// warning for each of a million objects stays well below it.
const maxManifestSize = 256 << 20

// Manifest describes one backup. It is stored beside the archive, not in
// it, because it holds the archive's own SHA-256, and it is published last:
// a backup exists once its manifest does.
type Manifest struct {
	// FormatVersion is the version of this document and of the archive.
	FormatVersion int `json:"formatVersion"`
	// Name is the backup's name, unique within its location.
	Name string `json:"name"`
	// UID is a random id, distinct for every run even under one name.
	UID string `json:"uid"`
	// Phase is how the backup ended.
	Phase Phase `json:"phase"`
	// Spec is what was asked to be backed up.
	Spec Spec `json:"spec"`
	// Cluster identifies the cluster the objects came from.
	Cluster ClusterInfo `json:"cluster"`
	// ResourceVersion is the snapshot revision all "snapshot" types were
	// listed at.
	ResourceVersion string `json:"resourceVersion"`
	// StartTime is when the backup began; every archive entry carries it.
	StartTime time.Time `json:"startTime"`
	// EndTime is when the archive was complete.
	EndTime time.Time `json:"endTime"`
	// Archive locates the archive and holds its digest.
	Archive ArchiveInfo `json:"archive"`
	// Index summarizes the archive's index.
	Index IndexInfo `json:"index"`
	// Types lists each resource type backed up, with its count.
	Types []TypeInfo `json:"types"`
	// Warnings are problems that did not cost any object.
	Warnings []Problem `json:"warnings,omitempty"`
	// Errors are the objects or types that could not be backed up.
	Errors []Problem `json:"errors,omitempty"`
	// Totals sums the objects stored.
	Totals Totals `json:"totals"`
}

// Spec is the selection a backup was made with, as the user gave it.
type Spec struct {
	// IncludeNamespaces and ExcludeNamespaces are namespace globs.
	IncludeNamespaces []string `json:"includeNamespaces,omitempty"`
	ExcludeNamespaces []string `json:"excludeNamespaces,omitempty"`
	// IncludeResources and ExcludeResources name resource types, such as
	// "deployments.apps".
	IncludeResources []string `json:"includeResources,omitempty"`
	ExcludeResources []string `json:"excludeResources,omitempty"`
	// Selector is a label selector in kubectl syntax.
	Selector string `json:"selector,omitempty"`
	// OrSelectors select objects matching any of them.
	OrSelectors []string `json:"orSelectors,omitempty"`
	// IncludeClusterResources is "auto", "true" or "false".
	IncludeClusterResources string `json:"includeClusterResources"`
	// IncludeEvents is true when events were backed up too.
	IncludeEvents bool `json:"includeEvents"`
}

// ClusterInfo identifies a cluster.
type ClusterInfo struct {
	// Server is the host (and port) of the API server URL.
	Server string `json:"server"`
	// UID is the uid of the kube-system namespace, which stays the same for
	// the life of a cluster whatever its address.
	UID string `json:"uid"`
	// KubernetesVersion is the server's git version, such as "v1.34.1".
	KubernetesVersion string `json:"kubernetesVersion"`
}

// ArchiveInfo locates a backup's archive and fixes its content.
type ArchiveInfo struct {
	// Key is the archive's key in the backup location.
	Key string `json:"key"`
	// Size is the stored size in bytes.
	Size int64 `json:"size"`
	// SHA256 is the lowercase hex SHA-256 of the stored bytes.
	SHA256 string `json:"sha256"`
	// Compression is "zstd".
	Compression string `json:"compression"`
	// Encryption names the envelope around the stored bytes; empty when the
	// archive is stored in the clear.
	Encryption string `json:"encryption,omitempty"`
}

// IndexInfo summarizes an archive's index.
type IndexInfo struct {
	// Objects is the number of index lines, one per object.
	Objects int `json:"objects"`
	// SHA256 is the lowercase hex SHA-256 of index.jsonl.
	SHA256 string `json:"sha256"`
}

// TypeInfo describes one resource type in a backup.
type TypeInfo struct {
	// Group, Version, Resource and Kind name the type; Group is "" for the
	// core group.
	Group    string `json:"group"`
	Version  string `json:"version"`
	Resource string `json:"resource"`
	Kind     string `json:"kind"`
	// Namespaced is true when the type's objects live in namespaces.
	Namespaced bool `json:"namespaced"`
	// Count is the number of objects of this type stored.
	Count int `json:"count"`
	// ResourceVersion is the revision the type was listed at.
	ResourceVersion string `json:"resourceVersion"`
	// Consistency says whether that revision is the snapshot's.
	Consistency Consistency `json:"consistency"`
	// Reason explains a consistency other than "snapshot".
	Reason string `json:"reason,omitempty"`
}

// Problem is one warning or error of a backup, about one object or one
// whole resource type.
type Problem struct {
	// Object is the object concerned; nil for a whole type.
	Object *ObjectRef `json:"object,omitempty"`
	// Resource names a whole type, as "deployments.apps", when Object is nil.
	Resource string `json:"resource,omitempty"`
	// Action is what was being done, such as "list" or "get".
	Action string `json:"action"`
	// Reason is what went wrong.
	Reason string `json:"reason"`
}

// Totals sums a backup's objects.
type Totals struct {
	// Objects is the number of objects stored.
	Objects int `json:"objects"`
	// Bytes is the sum of the objects' JSON sizes, before compression.
	Bytes int64 `json:"bytes"`
}

// NewUID returns a random id for Manifest.UID, formatted as a version 4
// UUID.
func NewUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// DecodeManifest reads a manifest and validates it. A manifest of another
// format version is refused with an error wrapping ErrUnsupportedVersion
// before anything else is read from it.
func DecodeManifest(r io.Reader) (*Manifest, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	if len(data) > maxManifestSize {
		return nil, fmt.Errorf("read manifest: %w: more than %d bytes",
			ErrInvalidManifest, maxManifestSize)
	}

	var probe struct {
		FormatVersion *int `json:"formatVersion"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("read manifest: %w: not JSON: %w", ErrInvalidManifest, err)
	}
	if probe.FormatVersion == nil {
		return nil, fmt.Errorf("read manifest: %w: no formatVersion", ErrInvalidManifest)
	}
	if v := *probe.FormatVersion; v != FormatVersion {
		return nil, fmt.Errorf("read manifest: %w: manifest format version %d; this cairn "+
			"reads version %d only", ErrUnsupportedVersion, v, FormatVersion)
	}

	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("read manifest: %w: %w", ErrInvalidManifest, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	return &m, nil
}

// Encode validates the manifest and writes it as indented JSON.
func (m *Manifest) Encode(w io.Writer) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}
