package restore

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/cairn-backup/cairn/internal/archive"
)

// Reasons of objects that exist.
const (
	reasonSame    = "exists, same"
	reasonDiffers = "exists, differs"
	reasonMerged  = "image pull secrets merged into the control plane's default ServiceAccount"
)

// ignored are the fields never compared: the server owns them.
var ignored = map[string]bool{
	"metadata.managedFields": true, "metadata.ownerReferences": true, "status": true,
}

// existing decides what to do with an object that is in the cluster: skip
// it, or under the update policy patch it to the backed-up state.
func (r *run) existing(ctx context.Context, c dynamic.ResourceInterface, p *prepared,
	live *unstructured.Unstructured, target archive.ObjectRef) Outcome {
	if isDefaultServiceAccount(target) {
		return r.mergeDefaultServiceAccount(ctx, c, p, live, target)
	}
	patch, fields := diff(p.obj.Object, live.Object, "")
	if len(fields) == 0 {
		return Outcome{Object: target, Action: ActionSkip, Reason: reasonSame}
	}
	if r.req.Spec.ExistingResourcePolicy != PolicyUpdate {
		return Outcome{Object: target, Action: ActionSkip, Reason: reasonDiffers, Fields: fields}
	}
	if target.Namespace == "" && len(r.req.Spec.NamespaceMappings) > 0 {
		// A copy beside the original must not take the original's
		// cluster-scoped objects: a ClusterRoleBinding gains the copy's
		// subjects, anything else (a PersistentVolume, say) is left alone.
		if target.Group == "rbac.authorization.k8s.io" && target.Resource == "clusterrolebindings" {
			return r.mergeSubjects(ctx, c, p, live, target)
		}
		return Outcome{Object: target, Action: ActionSkip, Fields: fields,
			Reason: reasonDiffers + "; cluster-scoped objects are not updated under " +
				"namespace mappings: the original namespaces may still use them"}
	}
	err := r.patch(ctx, c, live.GetName(), patch)
	if err == nil {
		return Outcome{Object: target, Action: ActionUpdate, Fields: fields}
	}
	// Some fields cannot change on a live object, as a Pod's spec: bring
	// its labels and annotations back, and say what stayed as it was.
	meta, _ := patch.(map[string]any)["metadata"]
	if meta == nil || !apierrors.IsInvalid(err) {
		return Outcome{Object: target, Action: ActionFail, Fields: fields,
			Reason: fmt.Sprintf("update: %v", err)}
	}
	if err2 := r.patch(ctx, c, live.GetName(), map[string]any{"metadata": meta}); err2 != nil {
		return Outcome{Object: target, Action: ActionFail, Fields: fields,
			Reason: fmt.Sprintf("update: %v", err)}
	}
	var unchanged []string
	for _, f := range fields {
		if !strings.HasPrefix(f, "metadata.") {
			unchanged = append(unchanged, f)
		}
	}
	reason := fmt.Sprintf("could not change %s: %v", strings.Join(unchanged, ", "), err)
	ref := target
	r.warn(archive.Problem{Object: &ref, Action: "update", Reason: reason})
	return Outcome{Object: target, Action: ActionUpdate, Fields: fields, Reason: reason}
}

func (r *run) patch(ctx context.Context, c dynamic.ResourceInterface, name string,
	patch any) error {
	data, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	_, err = c.Patch(ctx, name, types.MergePatchType, data, metav1.PatchOptions{
		DryRun: r.dryRun(), FieldManager: FieldManager})
	return err
}

// mergeDefaultServiceAccount adds the backed-up image pull secrets to the
// default ServiceAccount, which the control plane makes in every namespace
// and which is therefore always there before the restore writes it.
func (r *run) mergeDefaultServiceAccount(ctx context.Context, c dynamic.ResourceInterface,
	p *prepared, live *unstructured.Unstructured, target archive.ObjectRef) Outcome {
	want, _, _ := unstructured.NestedSlice(p.obj.Object, "imagePullSecrets")
	have, _, _ := unstructured.NestedSlice(live.Object, "imagePullSecrets")
	merged := union(have, want)
	if len(merged) == len(have) {
		return Outcome{Object: target, Action: ActionSkip, Reason: reasonSame}
	}
	if err := r.patch(ctx, c, live.GetName(),
		map[string]any{"imagePullSecrets": merged}); err != nil {
		return Outcome{Object: target, Action: ActionFail, Reason: fmt.Sprintf("update: %v", err)}
	}
	return Outcome{Object: target, Action: ActionUpdate, Fields: []string{"imagePullSecrets"},
		Reason: reasonMerged}
}

// mergeSubjects adds the subjects of the backed-up ClusterRoleBinding
// that the live one lacks, and keeps the ones it has.
func (r *run) mergeSubjects(ctx context.Context, c dynamic.ResourceInterface, p *prepared,
	live *unstructured.Unstructured, target archive.ObjectRef) Outcome {
	want, _, _ := unstructured.NestedSlice(p.obj.Object, "subjects")
	have, _, _ := unstructured.NestedSlice(live.Object, "subjects")
	merged := union(have, want)
	if len(merged) == len(have) {
		return Outcome{Object: target, Action: ActionSkip, Reason: reasonSame}
	}
	if err := r.patch(ctx, c, live.GetName(), map[string]any{"subjects": merged}); err != nil {
		return Outcome{Object: target, Action: ActionFail, Reason: fmt.Sprintf("update: %v", err)}
	}
	return Outcome{Object: target, Action: ActionUpdate, Fields: []string{"subjects"},
		Reason: "subjects added; the existing ones are kept"}
}

// union returns have with the elements of want it lacks appended.
func union(have, want []any) []any {
	merged := slices.Clone(have)
	for _, w := range want {
		if !slices.ContainsFunc(merged, func(h any) bool { return equalJSON(h, w) }) {
			merged = append(merged, w)
		}
	}
	return merged
}

// diff compares the object to send with the live one. It returns a merge
// patch that brings live to want, and the paths of the fields that
// differ. Fields that want leaves out are not compared, so what the
// server defaults or assigns never counts as a difference, and the patch
// never deletes a field.
func diff(want, live any, path string) (any, []string) {
	if ignored[path] {
		return nil, nil
	}
	if wl, ok := want.([]any); ok {
		// A list differs as a whole, but its elements are compared as
		// objects are: what the server added to an element is no change.
		ll, ok := live.([]any)
		if ok && len(wl) == len(ll) {
			same := true
			for i := range wl {
				if _, fs := diff(wl[i], ll[i], path); len(fs) > 0 {
					same = false
					break
				}
			}
			if same {
				return nil, nil
			}
		}
		return want, []string{orRoot(path)}
	}
	wm, wok := want.(map[string]any)
	lm, lok := live.(map[string]any)
	if !wok || !lok {
		if equalJSON(want, live) {
			return nil, nil
		}
		return want, []string{orRoot(path)}
	}
	patch := map[string]any{}
	var fields []string
	keys := make([]string, 0, len(wm))
	for k := range wm {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sub := k
		if path != "" {
			sub = path + "." + k
		}
		lv, ok := lm[k]
		if !ok {
			if empty(wm[k]) || ignored[sub] {
				continue
			}
			patch[k] = wm[k]
			fields = append(fields, sub)
			continue
		}
		p, fs := diff(wm[k], lv, sub)
		if len(fs) > 0 {
			patch[k] = p
			fields = append(fields, fs...)
		}
	}
	if len(fields) == 0 {
		return nil, nil
	}
	return patch, fields
}

func orRoot(path string) string {
	if path == "" {
		return "."
	}
	return path
}

// equalJSON compares decoded JSON values; numbers may have been decoded
// as int64 or float64.
func equalJSON(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// empty reports whether a value the server may leave out stands for
// nothing: null, {} or []. An empty string is a value: a label, annotation
// or data key set to "" is kept by the server and restored.
func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}
