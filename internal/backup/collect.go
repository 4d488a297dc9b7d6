package backup

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/cluster"
	"github.com/cairn-backup/cairn/internal/selection"
)

// selector holds a backup's filters, built and validated from its spec.
type selector struct {
	spec       archive.Spec
	namespaces selection.Namespaces
	labels     selection.Labels
	plan       plan
	// listNamespaces, when set, are the only namespaces to list namespaced
	// types in: the include patterns named them without wildcards.
	listNamespaces []string
}

func newSelector(spec archive.Spec, resources []cluster.Resource) (*selector, error) {
	switch spec.IncludeClusterResources {
	case archive.ClusterResourcesAuto, archive.ClusterResourcesTrue, archive.ClusterResourcesFalse:
	default:
		return nil, fmt.Errorf("include cluster resources %q: must be auto, true or false",
			spec.IncludeClusterResources)
	}
	ns, err := selection.NewNamespaces(spec.IncludeNamespaces, spec.ExcludeNamespaces)
	if err != nil {
		return nil, err
	}
	res, err := selection.NewResources(spec.IncludeResources, spec.ExcludeResources, resources)
	if err != nil {
		return nil, err
	}
	labels, err := selection.NewLabels(spec.Selector, spec.OrSelectors)
	if err != nil {
		return nil, err
	}
	s := &selector{spec: spec, namespaces: ns, labels: labels}
	takeRefs := spec.IncludeClusterResources != archive.ClusterResourcesFalse
	s.plan = makePlan(resources, res, spec.IncludeEvents, takeRefs)
	literal := len(spec.IncludeNamespaces) > 0
	for _, p := range spec.IncludeNamespaces {
		if !selection.Literal(p) {
			literal = false
		}
	}
	if literal {
		for _, p := range spec.IncludeNamespaces {
			if ns.Match(p) {
				s.listNamespaces = append(s.listNamespaces, p)
			}
		}
	}
	return s, nil
}

// fullCluster reports whether the backup covers the whole cluster: every
// namespace, no label selection.
func (s *selector) fullCluster() bool { return s.namespaces.All() && s.labels.Empty() }

// namespacedSelected decides on a namespaced object.
func (s *selector) namespacedSelected(h itemHead) bool {
	return h.Metadata.Labels[ExcludeLabel] != "true" &&
		s.namespaces.Match(h.Metadata.Namespace) && s.labels.Match(h.Metadata.Labels)
}

// clusterSelected decides on a cluster-scoped object; see deps.go and
// docs/format.md for the rules of --include-cluster-resources.
func (s *selector) clusterSelected(t listType, h itemHead, data []byte, r *refs) bool {
	name, labels := h.Metadata.Name, h.Metadata.Labels
	if labels[ExcludeLabel] == "true" {
		return false
	}
	gr := t.GroupResource()
	referenced := r.has(gr, name) ||
		gr == grClusterRoleBindings && bindsNamespace(data, func(ns string) bool {
			return r.has(grNamespaces, ns)
		})
	if gr == grNamespaces {
		// Namespace objects go with the namespaces selected, whatever the
		// cluster-resources mode: they carry the namespace's labels and
		// annotations, which admission on restore may require.
		return s.namespaces.Match(name) && (referenced || !t.refsOnly && s.labels.Match(labels))
	}
	var selected bool
	switch {
	case s.spec.IncludeClusterResources == archive.ClusterResourcesFalse:
		selected = false
	case t.refsOnly:
		selected = referenced
	case s.spec.IncludeClusterResources == archive.ClusterResourcesTrue:
		selected = referenced || s.labels.Match(labels)
	case s.fullCluster():
		selected = true
	default:
		selected = referenced || !s.labels.Empty() && s.labels.Match(labels)
	}
	if selected && gr == grClusterRoleBindings {
		r.add(grClusterRoles, roleRefName(data))
	}
	return selected
}

// collect lists every planned type into the archive, wave by wave.
func (b *run) collect(ctx context.Context, aw *archive.Writer) error {
	p := b.sel.plan
	b.req.Progress.Types.Store(int64(p.count()))
	waves := append([][]listType{p.namespaced, p.cluster}, p.referenced...)
	for _, wave := range waves {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(b.req.Workers)
		for _, t := range wave {
			g.Go(func() error { return b.listType(gctx, aw, t) })
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	return nil
}

// listType lists one type and adds the selected objects to the archive.
// A type that cannot be listed is an error of the backup, not a failure of
// it: the backup ends PartiallyFailed and names the type.
func (b *run) listType(ctx context.Context, aw *archive.Writer, t listType) error {
	ts := &typeState{rv: b.manifest.ResourceVersion, info: archive.TypeInfo{
		Group: t.Group, Version: t.Version, Resource: t.Resource.Resource,
		Kind: t.Kind, Namespaced: t.Namespaced,
		Consistency: archive.ConsistencySnapshot,
	}}
	switch {
	case t.Aggregated:
		ts.rv, ts.info.Consistency = "", archive.ConsistencyLive
		ts.info.Reason = "served by an aggregated API server"
	case b.freshRV.Load():
		ts.goFresh("the snapshot revision was compacted before this type was read")
	}
	var err error
	if t.Namespaced && b.sel.listNamespaces != nil {
		for _, ns := range b.sel.listNamespaces {
			if _, _, err = b.listChain(ctx, aw, t, ts, chain{namespace: ns}); err != nil {
				break
			}
		}
	} else {
		err = b.listAll(ctx, aw, t, ts)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if isArchiveError(err) {
			return err
		}
		b.log.Error("list failed", "resource", t.String(), "error", err)
		b.fail(archive.Problem{Resource: t.GroupResource(), Action: "list", Reason: err.Error()})
	}
	if err == nil && t.GroupResource() == grNamespaces {
		b.includes.setWhole()
	}
	info := ts.done()
	b.mu.Lock()
	if info.Count > 0 || !t.refsOnly {
		b.manifest.Types = append(b.manifest.Types, info)
	}
	b.mu.Unlock()
	b.req.Progress.TypesDone.Add(1)
	b.log.Debug("type done", "resource", t.String(), "objects", info.Count)
	return nil
}

// chain is one list of a type, a page after another.
type chain struct {
	namespace string // "" for every namespace
	after     string // the key after which objects are taken, if set
	// cutAfterFirst and prefetch are given to the lister.
	cutAfterFirst func(listMeta) bool
	prefetch      int
}

// listChain lists a type as one chain of pages. When the snapshot revision
// is found compacted, the rest is read fresh. It returns the key of the
// last object read and whether cutAfterFirst ended the chain after its
// first page.
func (b *run) listChain(ctx context.Context, aw *archive.Writer, t listType, ts *typeState,
	c chain) (last string, cut bool, err error) {
	l := &lister{c: b.req.Cluster, res: t.Resource, pageSize: b.req.PageSize,
		cutAfterFirst: c.cutAfterFirst, prefetch: c.prefetch}
	// The last object seen, kept as its head's strings: its key is made
	// only when a read resumes after it or the chain ends.
	var lastNS, lastName string
	lastKey := func() string {
		if lastName == "" {
			return c.after
		}
		return key(lastNS, lastName)
	}
	add := func(it item) error {
		lastNS, lastName = it.head.Metadata.Namespace, it.head.Metadata.Name
		return b.add(aw, t, it, ts)
	}
	rv := ts.revision()
	readRV, cut, err := l.listAt(ctx, c.namespace, rv, c.after, add)
	if err != nil && rv != "" && expired(err) {
		b.log.Warn("snapshot revision compacted; reading the rest fresh",
			"resource", t.String(), "error", err)
		b.freshRV.Store(true)
		ts.goFresh("the snapshot revision was compacted while this type was read")
		l.cutAfterFirst = nil
		readRV, cut, err = l.listAt(ctx, c.namespace, "", lastKey(), add)
	}
	if err != nil {
		return lastKey(), false, err
	}
	ts.read(readRV)
	return lastKey(), cut, nil
}

// add stores one listed object if the filters select it.
func (b *run) add(aw *archive.Writer, t listType, it item, ts *typeState) error {
	h := it.head
	if t.Group == "" && t.Resource.Resource == grNamespaces {
		b.includes.see(h.Metadata.Name)
	}
	if t.Namespaced {
		if !b.sel.namespacedSelected(h) {
			return nil
		}
	} else if !b.sel.clusterSelected(t, h, it.data, b.refs) {
		return nil
	}
	ref := archive.ObjectRef{
		Group: t.Group, Version: t.Version, Resource: t.Resource.Resource,
		Namespace: h.Metadata.Namespace, Name: h.Metadata.Name,
	}
	if err := b.refs.collect(t.GroupResource(), t.Group, t.Resource.Resource,
		h.Metadata.Namespace, it.data); err != nil {
		b.warn(archive.Problem{Object: &ref, Action: "inspect", Reason: err.Error()})
	}
	err := aw.Add(archive.Object{Ref: ref, Data: it.data, Deleting: h.Metadata.DeletionTimestamp != nil})
	if err != nil {
		return archiveError{fmt.Errorf("store %s: %w", ref, err)}
	}
	ts.count.Add(1)
	b.req.Progress.Objects.Add(1)
	b.req.Progress.Bytes.Add(int64(len(it.data)))
	return nil
}

// archiveError marks an error of the archive, which ends the backup,
// unlike an error listing one type.
type archiveError struct{ error }

func (e archiveError) Unwrap() error { return e.error }

func isArchiveError(err error) bool {
	var ae archiveError
	return errors.As(err, &ae)
}

func roleRefName(data []byte) string {
	var d refDoc
	if err := listJSON.Unmarshal(data, &d); err != nil || d.RoleRef.Kind != "ClusterRole" {
		return ""
	}
	return d.RoleRef.Name
}
