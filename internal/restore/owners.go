package restore

import (
	"context"
	"sync"

	"github.com/google/uuid"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/cairn-backup/cairn/internal/archive"
)

// uidSet holds uids as 16 bytes each: a restore keeps the uid of every
// object it restores, so the set must stay small.
type uidSet map[uuid.UUID]struct{}

func (s uidSet) add(uid string) {
	if u, err := uuid.Parse(uid); err == nil {
		s[u] = struct{}{}
	}
}

func (s uidSet) has(uid string) bool {
	u, err := uuid.Parse(uid)
	if err != nil {
		return false
	}
	_, ok := s[u]
	return ok
}

// nameMap maps uids of the backup to the uids of the same objects in the
// target cluster, as they are created or found; a zero value records an
// owner looked up and not found. Both are kept as 16 bytes.
type nameMap struct {
	mu   sync.RWMutex
	uids map[uuid.UUID]uuid.UUID
}

func newNameMap() *nameMap { return &nameMap{uids: map[uuid.UUID]uuid.UUID{}} }

func (m *nameMap) set(old, now string) {
	o, err := uuid.Parse(old)
	if err != nil {
		return
	}
	n, _ := uuid.Parse(now) // "" for not found: the zero uuid
	m.mu.Lock()
	defer m.mu.Unlock()
	m.uids[o] = n
}

func (m *nameMap) get(old string) (string, bool) {
	o, err := uuid.Parse(old)
	if err != nil {
		return "", false
	}
	m.mu.RLock()
	now, ok := m.uids[o]
	m.mu.RUnlock()
	if !ok || now == uuid.Nil {
		return "", ok
	}
	return now.String(), true
}

// deferred is an object whose owners are set after every tier.
type deferred struct {
	target archive.ObjectRef
	owners []any
}

// resolveOwners sets the owner references to send: each names the owner's
// uid in the target cluster. An owner that this restore creates later is
// left out now and set afterwards; an owner that is neither restored nor
// in the target is dropped. A uid of the source cluster is never sent.
func (r *run) resolveOwners(ctx context.Context, p *prepared, target archive.ObjectRef) {
	if len(p.owners) == 0 {
		return
	}
	refs, later := r.mapOwners(ctx, p.owners, target.Namespace)
	p.ownersLater = later
	if len(refs) > 0 {
		p.obj.Object["metadata"].(map[string]any)["ownerReferences"] = refs
	}
}

// mapOwners rewrites owner references to uids of the target cluster.
func (r *run) mapOwners(ctx context.Context, owners []any, namespace string) ([]any, bool) {
	var out []any
	later := false
	for _, o := range owners {
		ref, _ := o.(map[string]any)
		if ref == nil {
			continue
		}
		old, _ := ref["uid"].(string)
		now, ok := r.names.get(old)
		if !ok {
			if r.spool.restored.has(old) {
				later = true
				continue
			}
			now = r.lookupOwner(ctx, ref, namespace, old)
		}
		if now == "" {
			continue
		}
		m := make(map[string]any, len(ref))
		for k, v := range ref {
			m[k] = v
		}
		m["uid"] = now
		out = append(out, m)
	}
	return out, later
}

// lookupOwner finds an owner that is not in the restore in the target
// cluster, by kind and name, and remembers the answer.
func (r *run) lookupOwner(ctx context.Context, ref map[string]any, namespace, old string) string {
	apiVersion, _ := ref["apiVersion"].(string)
	kind, _ := ref["kind"].(string)
	name, _ := ref["name"].(string)
	gvr, ok := r.types.resourceFor(apiVersion, kind)
	if !ok || name == "" {
		r.names.set(old, "")
		return ""
	}
	var c dynamic.ResourceInterface = r.req.Cluster.Dynamic.Resource(gvr)
	if r.types.namespaced(gvr) {
		c = r.req.Cluster.Dynamic.Resource(gvr).Namespace(namespace)
	}
	now := ""
	if obj, err := c.Get(ctx, name, metav1.GetOptions{}); err == nil {
		now = string(obj.GetUID())
	}
	r.names.set(old, now)
	return now
}

func (r *run) deferOwners(target archive.ObjectRef, owners []any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.later = append(r.later, deferred{target: target, owners: owners})
}

// patchOwners sets the owner references that waited for their owners. An
// object that is gone by now, as one its owner's controller replaced, is
// no error.
func (r *run) patchOwners(ctx context.Context) {
	for _, d := range r.later {
		refs, _ := r.mapOwners(ctx, d.owners, d.target.Namespace)
		if len(refs) == 0 {
			continue
		}
		c := r.client(d.target, d.target.Namespace)
		patch := map[string]any{"metadata": map[string]any{"ownerReferences": refs}}
		err := r.patch(ctx, c, d.target.Name, patch)
		if err != nil && !apierrors.IsNotFound(err) {
			ref := d.target
			r.warn(archive.Problem{Object: &ref, Action: "set owners", Reason: err.Error()})
		}
	}
}
