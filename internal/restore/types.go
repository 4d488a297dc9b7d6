package restore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/cluster"
)

// typeMap is what the target cluster serves: every version of every
// group, not only the preferred one, since a backup names the version it
// was read in.
type typeMap struct {
	c  *cluster.Cluster
	mu sync.RWMutex
	// served maps group/version/resource to whether it is namespaced.
	served map[schema.GroupVersionResource]bool
	// versions lists the served versions of each group resource.
	versions map[schema.GroupResource][]string
	// kinds maps group/kind to a served resource, for owner references.
	kinds map[schema.GroupKind]schema.GroupVersionResource

	// refreshMu serialises refreshes; refreshed is the time of the last.
	refreshMu sync.Mutex
	refreshed time.Time
}

func newTypeMap(ctx context.Context, c *cluster.Cluster) (*typeMap, error) {
	t := &typeMap{c: c}
	return t, t.refresh(ctx)
}

// refresh reads discovery again, as after CRDs were created.
func (t *typeMap) refresh(context.Context) error {
	_, lists, err := t.c.Discovery.ServerGroupsAndResources()
	var partial *discovery.ErrGroupDiscoveryFailed
	if err != nil && !errors.As(err, &partial) {
		return fmt.Errorf("discover API resources: %w", err)
	}
	served := map[schema.GroupVersionResource]bool{}
	versions := map[schema.GroupResource][]string{}
	kinds := map[schema.GroupKind]schema.GroupVersionResource{}
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			if strings.Contains(r.Name, "/") {
				continue
			}
			gvr := gv.WithResource(r.Name)
			served[gvr] = r.Namespaced
			versions[gvr.GroupResource()] = append(versions[gvr.GroupResource()], gv.Version)
			gk := schema.GroupKind{Group: gv.Group, Kind: r.Kind}
			if _, ok := kinds[gk]; !ok {
				kinds[gk] = gvr
			}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.served, t.versions, t.kinds = served, versions, kinds
	t.refreshed = time.Now()
	return nil
}

// waitServed waits, up to limit, until discovery lists the type of a
// CRD this restore created: the API server may publish a new type a
// moment after its CRD is Established.
func (t *typeMap) waitServed(ctx context.Context, ref archive.ObjectRef,
	limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		err := t.check(ref)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		t.refreshMu.Lock()
		if time.Since(t.refreshed) > 500*time.Millisecond {
			_ = t.refresh(ctx)
		}
		t.refreshMu.Unlock()
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// check returns nil when the target serves the object's group, version and
// resource, or an error that names them and what the target serves.
func (t *typeMap) check(ref archive.ObjectRef) error {
	gvr := schema.GroupVersionResource{Group: ref.Group, Version: ref.Version,
		Resource: ref.Resource}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if _, ok := t.served[gvr]; ok {
		return nil
	}
	gv := gvr.GroupVersion().String()
	if vs := t.versions[gvr.GroupResource()]; len(vs) > 0 {
		return fmt.Errorf("the target cluster does not serve %s in %s; it serves %s",
			ref.Resource, gv, strings.Join(vs, ", "))
	}
	return fmt.Errorf("the target cluster does not serve %s in %s", ref.Resource, gv)
}

// resourceFor returns the served resource of an owner reference's kind.
func (t *typeMap) resourceFor(apiVersion, kind string) (schema.GroupVersionResource, bool) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return schema.GroupVersionResource{}, false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	gvr, ok := t.kinds[schema.GroupKind{Group: gv.Group, Kind: kind}]
	return gvr, ok
}

func (t *typeMap) namespaced(gvr schema.GroupVersionResource) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.served[gvr]
}

// waitEstablished waits until every named CRD is Established, or the
// deadline passes; it returns the names that did not get there.
func (r *run) waitEstablished(ctx context.Context, names []string) []string {
	crds := r.req.Cluster.Dynamic.Resource(schema.GroupVersionResource{
		Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	deadline := time.Now().Add(r.req.CRDWait)
	pending := slices.Clone(names)
	for len(pending) > 0 {
		var still []string
		for _, name := range pending {
			obj, err := crds.Get(ctx, name, metav1.GetOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				still = append(still, name)
				continue
			}
			if err == nil && !established(obj) {
				still = append(still, name)
			}
		}
		pending = still
		if len(pending) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return pending
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

func established(obj *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}
