package restore

import (
	"context"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

var namespacesGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// namespaces tracks the target namespaces of a restore. Each is looked at
// once: a Terminating namespace is waited for once, a bounded time, and
// a missing one is created once when no Namespace object of the backup
// made it.
type namespaces struct {
	r  *run
	mu sync.Mutex
	by map[string]*nsState
}

type nsState struct {
	settleOnce sync.Once
	absent     bool
	err        error

	mu      sync.Mutex
	created bool
}

func newNamespaces(r *run) *namespaces {
	return &namespaces{r: r, by: map[string]*nsState{}}
}

func (n *namespaces) state(name string) *nsState {
	n.mu.Lock()
	defer n.mu.Unlock()
	st := n.by[name]
	if st == nil {
		st = &nsState{}
		n.by[name] = st
	}
	return st
}

func (n *namespaces) client() dynamic.ResourceInterface {
	return n.r.req.Cluster.Dynamic.Resource(namespacesGVR)
}

// settle waits, once per namespace, for a Terminating namespace to go. It
// reports whether the namespace is absent, or an error that names it when
// it is still terminating at the deadline.
func (n *namespaces) settle(ctx context.Context, name string) (bool, error) {
	st := n.state(name)
	st.settleOnce.Do(func() {
		st.absent, st.err = n.wait(ctx, name)
	})
	return st.absent, st.err
}

func (n *namespaces) wait(ctx context.Context, name string) (bool, error) {
	limit := n.r.req.NamespaceWait
	deadline := time.Now().Add(limit)
	logged := false
	for {
		ns, err := n.client().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("namespace %s: %w", name, err)
		}
		if !terminating(ns) {
			return false, nil
		}
		if !logged {
			n.r.log.Warn("waiting for a terminating namespace", "namespace", name,
				"limit", limit)
			logged = true
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("namespace %s is terminating: it was still "+
				"being deleted after %s", name, limit)
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func terminating(ns *unstructured.Unstructured) bool {
	phase, _, _ := unstructured.NestedString(ns.Object, "status", "phase")
	return ns.GetDeletionTimestamp() != nil || phase == "Terminating"
}

// ready makes sure a namespace can take objects: it waits out a deletion
// and creates the namespace when it is missing. In a dry run nothing is
// created, and ready reports the namespace absent.
func (n *namespaces) ready(ctx context.Context, name string) (absent bool, err error) {
	absent, err = n.settle(ctx, name)
	if err != nil || !absent {
		return false, err
	}
	st := n.state(name)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.created {
		return false, nil
	}
	// The namespace's own object may have been restored since settle.
	if _, err := n.client().Get(ctx, name, metav1.GetOptions{}); err == nil {
		st.created = true
		return false, nil
	}
	if n.r.req.Spec.DryRun {
		return true, nil
	}
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": name},
	}}
	_, err = n.client().Create(ctx, ns, metav1.CreateOptions{FieldManager: FieldManager})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return false, fmt.Errorf("create namespace %s: %w", name, err)
	}
	n.r.log.Info("namespace created", "namespace", name)
	st.created = true
	return false, nil
}
