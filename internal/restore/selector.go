package restore

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/cluster"
	"github.com/cairn-backup/cairn/internal/selection"
)

// objectMeta is the part of an object the selector and the spool read.
type objectMeta struct {
	Type     string `json:"type"` // Secrets
	Metadata struct {
		UID    string            `json:"uid"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		// Services
		Selector json.RawMessage `json:"selector"`
		// PersistentVolumeClaims and PersistentVolumes
		VolumeName       string `json:"volumeName"`
		StorageClassName string `json:"storageClassName"`
		ClaimRef         *struct {
			Namespace string `json:"namespace"`
		} `json:"claimRef"`
	} `json:"spec"`
	// RoleBindings
	RoleRef *struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"roleRef"`

	UID             string            `json:"-"`
	ServiceSelector map[string]string `json:"-"`
}

func parseMeta(e entry) (*objectMeta, error) {
	var m objectMeta
	if err := json.Unmarshal(e.Data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", e.Ref.Path(), err)
	}
	m.UID = m.Metadata.UID
	if e.Ref.Group == "" && e.Ref.Resource == "services" && len(m.Spec.Selector) > 0 {
		_ = json.Unmarshal(m.Spec.Selector, &m.ServiceSelector)
	}
	return &m, nil
}

// selector decides which objects of the backup a restore takes.
type selector struct {
	spec       Spec
	namespaces selection.Namespaces
	resources  selection.Resources
	// status holds the types whose status is restored.
	status selection.Resources
	labels selection.Labels
	// everything is true when auto mode takes every cluster-scoped object.
	everything bool

	// seen holds every namespace the backup has objects of.
	seen map[string]bool
	// What the selected namespaced objects depend on.
	usedNamespaces map[string]bool
	crds           map[string]bool // CRD names: resource.group
	volumes        map[string]bool
	classes        map[string]bool
	clusterRoles   map[string]bool
}

// eventTypes are not restored unless named in --include-resources: they
// describe what happened in the source cluster.
var eventTypes = map[string]bool{"events": true, "events.events.k8s.io": true}

func newSelector(spec Spec, m *archive.Manifest, known []cluster.Resource) (*selector, error) {
	for _, t := range m.Types {
		known = append(known, cluster.Resource{
			GroupVersionResource: schema.GroupVersionResource{
				Group: t.Group, Version: t.Version, Resource: t.Resource},
			Kind: t.Kind, Namespaced: t.Namespaced,
		})
	}
	ns, err := selection.NewNamespaces(spec.IncludeNamespaces, spec.ExcludeNamespaces)
	if err != nil {
		return nil, err
	}
	res, err := selection.NewResources(spec.IncludeResources, spec.ExcludeResources, known)
	if err != nil {
		return nil, err
	}
	status, err := selection.NewResources(spec.RestoreStatus, nil, known)
	if err != nil {
		return nil, fmt.Errorf("restore status: %w", err)
	}
	lbl, err := selection.NewLabels(spec.Selector, spec.OrSelectors)
	if err != nil {
		return nil, err
	}
	return &selector{
		spec: spec, namespaces: ns, resources: res, status: status, labels: lbl,
		everything: spec.IncludeClusterResources == archive.ClusterResourcesTrue ||
			spec.IncludeClusterResources == archive.ClusterResourcesAuto &&
				ns.All() && lbl.Empty(),
		seen:           map[string]bool{},
		usedNamespaces: map[string]bool{},
		crds:           map[string]bool{},
		volumes:        map[string]bool{},
		classes:        map[string]bool{},
		clusterRoles:   map[string]bool{},
	}, nil
}

// typeSelected applies the resource filter.
func (s *selector) typeSelected(ref archive.ObjectRef) bool {
	res := refResource(ref)
	if eventTypes[res.GroupResource()] && !s.resources.Explicit(res) {
		return false
	}
	return s.resources.Match(res)
}

// namespaced returns the metadata of a selected namespaced object, or nil.
func (s *selector) namespaced(e entry) *objectMeta {
	s.seen[e.Ref.Namespace] = true
	if !s.namespaces.Match(e.Ref.Namespace) || !s.typeSelected(e.Ref) {
		return nil
	}
	m, err := parseMeta(e)
	if err != nil || !s.labels.Match(m.Metadata.Labels) {
		return nil
	}
	s.usedNamespaces[e.Ref.Namespace] = true
	switch groupResource(e.Ref.Group, e.Ref.Resource) {
	case "persistentvolumeclaims":
		s.volumes[m.Spec.VolumeName] = true
		s.classes[m.Spec.StorageClassName] = true
	case "rolebindings.rbac.authorization.k8s.io":
		if m.RoleRef != nil && m.RoleRef.Kind == "ClusterRole" {
			s.clusterRoles[m.RoleRef.Name] = true
		}
	}
	// Any type may be a custom one; only names of CRDs in the backup matter.
	s.crds[e.Ref.Resource+"."+e.Ref.Group] = true
	return m
}

// clusterScoped returns the metadata of a selected cluster-scoped object,
// or nil. It must be called after every namespaced object was seen.
func (s *selector) clusterScoped(e entry) *objectMeta {
	if !s.typeSelected(e.Ref) {
		return nil
	}
	m, err := parseMeta(e)
	if err != nil {
		return nil
	}
	gr := groupResource(e.Ref.Group, e.Ref.Resource)
	if gr == "namespaces" {
		s.seen[e.Ref.Name] = true
		// A Namespace object goes with its namespace, whatever the mode:
		// it carries the labels that admission policies look for.
		return when(s.namespaces.Match(e.Ref.Name) &&
			(s.everything || s.usedNamespaces[e.Ref.Name] || s.labels.Empty()), m)
	}
	if s.everything {
		return when(s.labels.Match(m.Metadata.Labels), m)
	}
	if s.spec.IncludeClusterResources == archive.ClusterResourcesFalse {
		return nil
	}
	var needed bool
	switch gr {
	case "customresourcedefinitions.apiextensions.k8s.io":
		needed = s.crds[e.Ref.Name]
	case "persistentvolumes":
		needed = s.volumes[e.Ref.Name] ||
			m.Spec.ClaimRef != nil && s.usedNamespaces[m.Spec.ClaimRef.Namespace]
	case "storageclasses.storage.k8s.io":
		needed = s.classes[e.Ref.Name]
	case "clusterroles.rbac.authorization.k8s.io":
		needed = s.clusterRoles[e.Ref.Name]
	}
	if !s.labels.Empty() && s.labels.Match(m.Metadata.Labels) {
		needed = true
	}
	return when(needed, m)
}

func when(ok bool, m *objectMeta) *objectMeta {
	if ok {
		return m
	}
	return nil
}

func refResource(ref archive.ObjectRef) cluster.Resource {
	return cluster.Resource{GroupVersionResource: schema.GroupVersionResource{
		Group: ref.Group, Version: ref.Version, Resource: ref.Resource}}
}

// unknownNamespaces returns the namespaces the spec names, in include
// filters without wildcards and as mapping sources, that the backup does
// not hold: most likely typing mistakes.
func (s *selector) unknownNamespaces() []string {
	var out []string
	for _, ns := range s.spec.IncludeNamespaces {
		if !strings.ContainsAny(ns, "*?[") && !s.seen[ns] {
			out = append(out, ns)
		}
	}
	for src := range s.spec.NamespaceMappings {
		if !s.seen[src] && !slices.Contains(out, src) {
			out = append(out, src)
		}
	}
	slices.Sort(out)
	return out
}
