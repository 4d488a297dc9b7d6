package backup

import (
	"github.com/cairn-backup/cairn/internal/cluster"
	"github.com/cairn-backup/cairn/internal/selection"
)

// runtimeTypes are left out unless a user names them in --include-resources:
// they describe the running state of nodes and the control plane, not an
// application, and restoring them would fight the components that own them.
var runtimeTypes = map[string]bool{
	"nodes":                               true,
	"events":                              true,
	"events.events.k8s.io":                true,
	"leases.coordination.k8s.io":          true,
	"csinodes.storage.k8s.io":             true,
	"volumeattachments.storage.k8s.io":    true,
	"componentstatuses":                   true,
	"ipaddresses.networking.k8s.io":       true,
	"leasecandidates.coordination.k8s.io": true,
}

// The group resources that auto mode takes by reference; see deps.go.
const (
	grNamespaces          = "namespaces"
	grPersistentVolumes   = "persistentvolumes"
	grStorageClasses      = "storageclasses.storage.k8s.io"
	grCRDs                = "customresourcedefinitions.apiextensions.k8s.io"
	grClusterRoles        = "clusterroles.rbac.authorization.k8s.io"
	grClusterRoleBindings = "clusterrolebindings.rbac.authorization.k8s.io"
	grPriorityClasses     = "priorityclasses.scheduling.k8s.io"
	grRuntimeClasses      = "runtimeclasses.node.k8s.io"
	grIngressClasses      = "ingressclasses.networking.k8s.io"
)

// plan is the set of types a backup lists, in three waves: namespaced
// types first, so their references are known; then cluster-scoped types
// that are not references; then the referenced cluster-scoped types, with
// PersistentVolumes before StorageClasses because a PV names its class.
type plan struct {
	namespaced []listType
	cluster    []listType
	referenced [][]listType
}

// listType is one type to list. refsOnly marks a type the resource filter
// did not select, listed only for the objects that selected objects need.
type listType struct {
	cluster.Resource
	refsOnly bool
}

// referencedOrder is the order of the last wave: each group may reference
// the groups after it.
var referencedOrder = [][]string{
	{grClusterRoleBindings, grPersistentVolumes},
	{grNamespaces, grStorageClasses, grCRDs, grClusterRoles, grPriorityClasses,
		grRuntimeClasses, grIngressClasses},
}

// makePlan picks the types to list: those the resource filter selects,
// minus runtime types nobody asked for by name, with events taken once.
// With takeRefs, the referenced types are listed even when the filter does
// not select them, unless it excludes them by name.
func makePlan(all []cluster.Resource, res selection.Resources, includeEvents, takeRefs bool) plan {
	var p plan
	wave := map[string]int{}
	for i, grs := range referencedOrder {
		for _, gr := range grs {
			wave[gr] = i
		}
	}
	p.referenced = make([][]listType, len(referencedOrder))
	haveEventsGroup := false
	for _, r := range all {
		if r.GroupResource() == "events.events.k8s.io" && res.Match(r) {
			haveEventsGroup = true
		}
	}
	for _, r := range all {
		gr := r.GroupResource()
		i, isRef := wave[gr]
		if isRef && !res.Match(r) && takeRefs && !res.Excluded(r) {
			p.referenced[i] = append(p.referenced[i], listType{Resource: r, refsOnly: true})
			continue
		}
		if !res.Match(r) {
			continue
		}
		if runtimeTypes[gr] && !res.Explicit(r) {
			isEvent := gr == "events" || gr == "events.events.k8s.io"
			if !isEvent || !includeEvents {
				continue
			}
		}
		// Events are served under two groups; the same objects are taken
		// once, from events.k8s.io where it is served.
		if gr == "events" && haveEventsGroup {
			continue
		}
		switch {
		case isRef:
			p.referenced[i] = append(p.referenced[i], listType{Resource: r})
		case r.Namespaced:
			p.namespaced = append(p.namespaced, listType{Resource: r})
		default:
			p.cluster = append(p.cluster, listType{Resource: r})
		}
	}
	return p
}

func (p plan) count() int {
	n := len(p.namespaced) + len(p.cluster)
	for _, w := range p.referenced {
		n += len(w)
	}
	return n
}
