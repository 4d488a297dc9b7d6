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

	"github.com/cairn-backup/cairn/internal/archive"
)

// FieldManager is the field manager of cairn's own writes.
const FieldManager = "cairn"

// defaultServiceAccountWait bounds the wait for the control plane to make
// a namespace's default ServiceAccount.
const defaultServiceAccountWait = 10 * time.Second

// servedWait bounds the wait for discovery to list a restored CRD's type.
const servedWait = 10 * time.Second

// restore writes the tiers in order.
func (r *run) restore(ctx context.Context) {
	for tier := range tierCount {
		f := r.spool.tiers[tier]
		if f.count == 0 {
			continue
		}
		r.log.Info("restoring "+tierNames[tier], "objects", f.count)
		present := r.writeTier(ctx, f, tier == tierCRDs)
		if tier == tierCRDs {
			r.afterCRDs(ctx, present)
		}
	}
	if !r.req.Spec.DryRun {
		r.patchOwners(ctx)
	}
}

// writeTier writes one tier's objects with the request's workers; with
// names set, it returns the names of the objects that exist afterwards.
func (r *run) writeTier(ctx context.Context, f *spoolFile, names bool) []string {
	work := make(chan entry)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var present []string
	for range r.req.Workers {
		wg.Go(func() {
			for e := range work {
				o := r.restoreOne(ctx, e)
				r.record1(o)
				if names && (o.Action == ActionCreate || o.Action == ActionUpdate ||
					o.Reason == reasonSame || o.Reason == reasonDiffers) {
					mu.Lock()
					present = append(present, o.Object.Name)
					mu.Unlock()
				}
			}
		})
	}
	err := f.each(func(e entry) error {
		select {
		case work <- e:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(work)
	wg.Wait()
	if err != nil {
		r.fail(archive.Problem{Action: "restore", Reason: err.Error()})
	}
	return present
}

// record1 stores an outcome and counts it.
func (r *run) record1(o Outcome) {
	r.outcomes.add(o)
	r.req.Progress.Done.Add(1)
	if o.Action != ActionFail {
		r.log.Debug(string(o.Action), "object", o.Object.Path(), "reason", o.Reason)
		return
	}
	r.req.Progress.Failed.Add(1)
	ref := o.Object
	r.log.Error("restore failed", "object", ref.Path(), "reason", o.Reason)
	r.fail(archive.Problem{Object: &ref, Action: "restore", Reason: o.Reason})
}

// afterCRDs waits for the restored CRDs to be Established and reads
// discovery again, so that their custom resources resolve.
func (r *run) afterCRDs(ctx context.Context, names []string) {
	if r.req.Spec.DryRun {
		return
	}
	if late := r.waitEstablished(ctx, names); len(late) > 0 {
		r.warn(archive.Problem{Resource: "customresourcedefinitions.apiextensions.k8s.io",
			Action: "wait", Reason: fmt.Sprintf("not Established after %s: %v",
				r.req.CRDWait, late)})
	}
	if err := r.types.refresh(ctx); err != nil {
		r.warn(archive.Problem{Action: "discover", Reason: err.Error()})
	}
}

func (r *run) client(ref archive.ObjectRef, namespace string) dynamic.ResourceInterface {
	res := r.req.Cluster.Dynamic.Resource(schema.GroupVersionResource{
		Group: ref.Group, Version: ref.Version, Resource: ref.Resource})
	if namespace == "" {
		return res
	}
	return res.Namespace(namespace)
}

func (r *run) dryRun() []string {
	if r.req.Spec.DryRun {
		return []string{metav1.DryRunAll}
	}
	return nil
}

// restoreOne restores one object and returns its outcome.
func (r *run) restoreOne(ctx context.Context, e entry) Outcome {
	target := e.Ref
	target.Namespace = r.mapNamespace(e.Ref.Namespace)
	fail := func(format string, args ...any) Outcome {
		return Outcome{Object: target, Action: ActionFail, Reason: fmt.Sprintf(format, args...)}
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(e.Data); err != nil {
		return fail("decode: %v", err)
	}
	if reason := r.skipReason(e, obj); reason != "" {
		return Outcome{Object: target, Action: ActionSkip, Reason: reason}
	}
	if obj.GetDeletionTimestamp() != nil {
		ref := target
		r.warn(archive.Problem{Object: &ref, Action: "restore", Reason: "it was being " +
			"deleted when backed up; restored as a live object, with its finalizers"})
	}
	p := r.prepare(e, obj)
	target.Name = obj.GetName()
	if err := ctx.Err(); err != nil {
		return fail("not restored: %v", err)
	}

	var note string
	if err := r.types.check(e.Ref); err != nil {
		switch {
		case !r.crdRestored(e.Ref):
			return fail("%v", err)
		case r.req.Spec.DryRun:
			note = "its CRD would be created first; not checked by the server"
		default:
			if err := r.types.waitServed(ctx, e.Ref, servedWait); err != nil {
				return fail("%v", err)
			}
		}
	}
	if target.Namespace != "" {
		absent, err := r.ns.ready(ctx, target.Namespace)
		if err != nil {
			return fail("%v", err)
		}
		if absent {
			note = fmt.Sprintf("namespace %s would be created first; not checked by the server",
				target.Namespace)
		}
	}
	if e.Ref.Group == "" && e.Ref.Resource == "namespaces" {
		if _, err := r.ns.settle(ctx, target.Name); err != nil {
			return fail("%v", err)
		}
	}
	c := r.client(e.Ref, target.Namespace)
	if isDefaultServiceAccount(target) {
		if o, done := r.defaultServiceAccount(ctx, c, p, target, note != ""); done {
			return o
		}
	}
	if note != "" {
		return Outcome{Object: target, Action: ActionCreate, Reason: note, Unchecked: true}
	}
	r.resolveOwners(ctx, p, target)

	created, err := c.Create(ctx, p.obj, metav1.CreateOptions{
		DryRun: r.dryRun(), FieldManager: FieldManager})
	if err == nil {
		target.Name = created.GetName()
		if !r.req.Spec.DryRun {
			r.names.set(p.oldUID, string(created.GetUID()))
			r.afterCreate(ctx, c, p, created, target)
		}
		return Outcome{Object: target, Action: ActionCreate}
	}
	if apierrors.IsNotFound(err) {
		return fail("%v", err)
	}
	// An object that exists may be refused for another reason first, as a
	// NodePort Service whose port it holds itself: look before judging.
	live, getErr := c.Get(ctx, p.obj.GetName(), metav1.GetOptions{})
	if getErr != nil {
		return fail("%v", err)
	}
	r.names.set(p.oldUID, string(live.GetUID()))
	return r.existing(ctx, c, p, live, target)
}

// crdRestored reports whether this restore holds the CRD of a type.
func (r *run) crdRestored(ref archive.ObjectRef) bool {
	return r.spool.crds[ref.Resource+"."+ref.Group]
}

// afterCreate writes back the status and the field owners, and notes the
// owners to set later.
func (r *run) afterCreate(ctx context.Context, c dynamic.ResourceInterface, p *prepared,
	created *unstructured.Unstructured, target archive.ObjectRef) {
	warn := func(action string, err error) {
		ref := target
		r.warn(archive.Problem{Object: &ref, Action: action, Reason: err.Error()})
	}
	if p.ownersLater {
		r.deferOwners(target, p.owners)
	}
	if p.status != nil {
		created.Object["status"] = p.status
		if _, err := c.UpdateStatus(ctx, created, metav1.UpdateOptions{
			FieldManager: FieldManager}); err != nil {
			warn("restore status", err)
		}
	}
	if p.managed != nil {
		// A create makes cairn the owner of every field; the owners of
		// the backup get their fields back, so server-side apply keeps
		// reporting conflicts as it did.
		patch := map[string]any{"metadata": map[string]any{"managedFields": p.managed}}
		if err := r.patch(ctx, c, created.GetName(), patch); err != nil &&
			!apierrors.IsNotFound(err) {
			warn("restore managed fields", err)
		}
	}
}

func isDefaultServiceAccount(ref archive.ObjectRef) bool {
	return ref.Group == "" && ref.Resource == "serviceaccounts" && ref.Name == "default"
}

// defaultServiceAccount handles the ServiceAccount the control plane makes
// in every namespace. With nothing of the backup's to add, it is left to
// the control plane; otherwise cairn waits a little for it to appear and
// merges into it, so that the outcome does not depend on who was first.
func (r *run) defaultServiceAccount(ctx context.Context, c dynamic.ResourceInterface,
	p *prepared, target archive.ObjectRef, nsAbsent bool) (Outcome, bool) {
	pull, _, _ := unstructured.NestedSlice(p.obj.Object, "imagePullSecrets")
	if len(pull) == 0 {
		return Outcome{Object: target, Action: ActionSkip,
			Reason: "the control plane makes it in every namespace"}, true
	}
	if nsAbsent {
		return Outcome{Object: target, Action: ActionUpdate, Fields: []string{"imagePullSecrets"},
			Reason: reasonMerged, Unchecked: true}, true
	}
	deadline := time.Now().Add(defaultServiceAccountWait)
	for {
		live, err := c.Get(ctx, target.Name, metav1.GetOptions{})
		if err == nil {
			return r.existing(ctx, c, p, live, target), true
		}
		if !apierrors.IsNotFound(err) || time.Now().After(deadline) {
			return Outcome{}, false
		}
		select {
		case <-ctx.Done():
			return Outcome{}, false
		case <-time.After(200 * time.Millisecond):
		}
	}
}
