package restore

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cairn-backup/cairn/internal/archive"
)

// Rules for what a restore sends. Each is a function of the object and
// the restore's spec; docs/restore.md lists them for users.

// serverFields are assigned by the API server and never sent.
var serverFields = []string{
	"uid", "resourceVersion", "generation", "creationTimestamp",
	"deletionTimestamp", "deletionGracePeriodSeconds", "selfLink",
}

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// controllers make their children again; a child whose controller is
// restored is not created.
var controllers = map[string]bool{
	"apps/Deployment": true, "apps/ReplicaSet": true, "apps/StatefulSet": true,
	"apps/DaemonSet": true, "batch/Job": true, "batch/CronJob": true,
	"/ReplicationController": true,
}

// prepared is an object ready to send.
type prepared struct {
	obj *unstructured.Unstructured
	// status is the backed-up status, kept when the type's status is
	// restored.
	status any
	// owners are the backed-up owner references, applied after every tier
	// when some owner was not created yet.
	owners      []any
	ownersLater bool
	// managed holds the backed-up managedFields when they name a
	// server-side apply owner; they are written back after the create.
	managed []any
	// oldUID is the object's uid in the backup.
	oldUID string
}

// skipReason returns why an object is not restored, or "".
func (r *run) skipReason(e entry, obj *unstructured.Unstructured) string {
	gr := groupResource(e.Ref.Group, e.Ref.Resource)
	for _, o := range obj.GetOwnerReferences() {
		if o.Controller == nil || !*o.Controller {
			continue
		}
		if !r.spool.restored.has(string(o.UID)) ||
			!controllers[apiGroup(o.APIVersion)+"/"+o.Kind] || gr == "persistentvolumeclaims" {
			continue
		}
		return fmt.Sprintf("its controller %s %s is restored and makes it again",
			o.Kind, o.Name)
	}
	switch gr {
	case "configmaps":
		if e.Ref.Name == "kube-root-ca.crt" {
			return "the control plane publishes it in every namespace"
		}
	case "endpointslices.discovery.k8s.io":
		by := obj.GetLabels()["endpointslice.kubernetes.io/managed-by"]
		if strings.HasSuffix(by, ".k8s.io") {
			return "managed by " + by + ", which makes it again"
		}
	case "endpoints":
		if r.spool.selectorServices[e.Ref.Namespace+"/"+e.Ref.Name] {
			return "the control plane makes the Endpoints of a Service with a selector"
		}
	case "apiservices.apiregistration.k8s.io":
		_, hasService, _ := unstructured.NestedMap(obj.Object, "spec", "service")
		if !hasService || obj.GetLabels()["kube-aggregator.kubernetes.io/automanaged"] != "" {
			return "served by the API server itself, not by an aggregated server"
		}
	}
	return ""
}

func apiGroup(apiVersion string) string {
	group, _, found := strings.Cut(apiVersion, "/")
	if !found {
		return ""
	}
	return group
}

// prepare turns a backed-up object into the object to send.
func (r *run) prepare(e entry, obj *unstructured.Unstructured) *prepared {
	p := &prepared{obj: obj, oldUID: string(obj.GetUID())}
	meta, _ := obj.Object["metadata"].(map[string]any)
	for _, f := range serverFields {
		delete(meta, f)
	}
	if r.restoresStatus(e.Ref) {
		p.status = obj.Object["status"]
	}
	delete(obj.Object, "status")
	r.cleanLastApplied(obj)
	if ns := obj.GetNamespace(); ns != "" {
		obj.SetNamespace(r.mapNamespace(ns))
	}
	if mf, ok := meta["managedFields"].([]any); ok && hasApplyOwner(mf) {
		p.managed = mf
	}
	if refs, ok := meta["ownerReferences"].([]any); ok {
		p.owners = refs
		delete(meta, "ownerReferences")
	}
	if fix := fixes[groupResource(e.Ref.Group, e.Ref.Resource)]; fix != nil {
		fix(r, obj)
	}
	return p
}

func hasApplyOwner(managed []any) bool {
	for _, m := range managed {
		if e, ok := m.(map[string]any); ok && e["operation"] == "Apply" {
			return true
		}
	}
	return false
}

func (r *run) mapNamespace(ns string) string {
	if to, ok := r.req.Spec.NamespaceMappings[ns]; ok {
		return to
	}
	return ns
}

func (r *run) mapStorageClass(obj map[string]any, fields ...string) {
	class, ok, _ := unstructured.NestedString(obj, fields...)
	if !ok {
		return
	}
	if to, mapped := r.req.Spec.StorageClassMappings[class]; mapped {
		_ = unstructured.SetNestedField(obj, to, fields...)
	}
}

func (r *run) restoresStatus(ref archive.ObjectRef) bool {
	return r.sel.status.Explicit(refResource(ref))
}

// cleanLastApplied removes server-assigned fields from the object kept in
// kubectl's last-applied annotation, so that a later kubectl apply does
// not send them, and maps the namespace it names.
func (r *run) cleanLastApplied(obj *unstructured.Unstructured) {
	ann := obj.GetAnnotations()
	raw, ok := ann[lastApplied]
	if !ok {
		return
	}
	var last map[string]any
	if err := json.Unmarshal([]byte(raw), &last); err != nil {
		return
	}
	_, changed := last["status"]
	delete(last, "status")
	if meta, ok := last["metadata"].(map[string]any); ok {
		for _, f := range append(slices.Clone(serverFields), "managedFields") {
			if _, found := meta[f]; found {
				changed = true
				delete(meta, f)
			}
		}
		field := "namespace"
		if obj.GetKind() == "Namespace" && obj.GetAPIVersion() == "v1" {
			field = "name"
		}
		if ns, ok := meta[field].(string); ok && r.mapNamespace(ns) != ns {
			meta[field] = r.mapNamespace(ns)
			changed = true
		}
	}
	if !changed {
		return // kept byte for byte, as kubectl wrote it
	}
	clean, err := json.Marshal(last)
	if err != nil {
		return
	}
	ann[lastApplied] = string(clean) + "\n"
	obj.SetAnnotations(ann)
}

// fixes are the per-type rules, by group resource.
var fixes = map[string]func(*run, *unstructured.Unstructured){
	"namespaces":                             fixNamespace,
	"services":                               fixService,
	"pods":                                   fixPod,
	"jobs.batch":                             fixJob,
	"serviceaccounts":                        fixServiceAccount,
	"secrets":                                fixSecret,
	"persistentvolumes":                      fixPV,
	"persistentvolumeclaims":                 fixPVC,
	"statefulsets.apps":                      fixStatefulSet,
	"endpoints":                              fixEndpoints,
	"endpointslices.discovery.k8s.io":        fixEndpointSlice,
	"rolebindings.rbac.authorization.k8s.io": fixBinding,
	"clusterrolebindings.rbac.authorization.k8s.io":                fixBinding,
	"mutatingwebhookconfigurations.admissionregistration.k8s.io":   fixWebhooks,
	"validatingwebhookconfigurations.admissionregistration.k8s.io": fixWebhooks,
	"apiservices.apiregistration.k8s.io":                           fixAPIService,
	"customresourcedefinitions.apiextensions.k8s.io":               fixCRD,
}

func fixNamespace(r *run, obj *unstructured.Unstructured) {
	name := r.mapNamespace(obj.GetName())
	obj.SetName(name)
	if labels := obj.GetLabels(); labels != nil {
		labels["kubernetes.io/metadata.name"] = name
		obj.SetLabels(labels)
	}
}

// fixService keeps a headless Service headless and lets the server pick
// new addresses otherwise; node ports stay only when asked.
func fixService(r *run, obj *unstructured.Unstructured) {
	spec, _ := obj.Object["spec"].(map[string]any)
	if spec == nil {
		return
	}
	if spec["clusterIP"] != "None" {
		delete(spec, "clusterIP")
		delete(spec, "clusterIPs")
	}
	if r.req.Spec.PreserveNodePorts {
		return
	}
	delete(spec, "healthCheckNodePort")
	ports, _ := spec["ports"].([]any)
	for _, p := range ports {
		if m, ok := p.(map[string]any); ok {
			delete(m, "nodePort")
		}
	}
}

// fixPod drops what admission derives from the PriorityClass and the node
// the Pod ran on; the scheduler places it again.
func fixPod(_ *run, obj *unstructured.Unstructured) {
	spec, _ := obj.Object["spec"].(map[string]any)
	if spec == nil {
		return
	}
	delete(spec, "priority")
	delete(spec, "nodeName")
	if spec["priorityClassName"] != nil {
		delete(spec, "preemptionPolicy")
	}
}

var jobUIDLabels = []string{"controller-uid", "batch.kubernetes.io/controller-uid"}

// fixJob lets the server generate the selector and the uid labels anew.
func fixJob(_ *run, obj *unstructured.Unstructured) {
	unstructured.RemoveNestedField(obj.Object, "spec", "selector")
	unstructured.RemoveNestedField(obj.Object, "spec", "manualSelector")
	for _, l := range jobUIDLabels {
		unstructured.RemoveNestedField(obj.Object, "spec", "template", "metadata", "labels", l)
		unstructured.RemoveNestedField(obj.Object, "metadata", "labels", l)
	}
}

// fixServiceAccount drops the references to token Secrets, which the
// target makes for itself.
func fixServiceAccount(_ *run, obj *unstructured.Unstructured) {
	delete(obj.Object, "secrets")
}

const tokenSecretType = "kubernetes.io/service-account-token"

// fixSecret sends a ServiceAccount token Secret without its token and the
// uid of its old ServiceAccount, so that the target's token controller
// fills it in instead of deleting it.
func fixSecret(_ *run, obj *unstructured.Unstructured) {
	if obj.Object["type"] != tokenSecretType {
		return
	}
	delete(obj.Object, "data")
	unstructured.RemoveNestedField(obj.Object, "metadata", "annotations",
		"kubernetes.io/service-account.uid")
}

func fixPV(r *run, obj *unstructured.Unstructured) {
	r.mapStorageClass(obj.Object, "spec", "storageClassName")
	claim, ok, _ := unstructured.NestedMap(obj.Object, "spec", "claimRef")
	if !ok {
		return
	}
	if ns, _ := claim["namespace"].(string); ns != "" {
		claim["namespace"] = r.mapNamespace(ns)
	}
	delete(claim, "uid")
	delete(claim, "resourceVersion")
	_ = unstructured.SetNestedMap(obj.Object, claim, "spec", "claimRef")
}

var bindAnnotations = []string{
	"pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller",
}

func fixPVC(r *run, obj *unstructured.Unstructured) {
	r.mapStorageClass(obj.Object, "spec", "storageClassName")
	for _, a := range bindAnnotations {
		unstructured.RemoveNestedField(obj.Object, "metadata", "annotations", a)
	}
}

func fixStatefulSet(r *run, obj *unstructured.Unstructured) {
	templates, _, _ := unstructured.NestedSlice(obj.Object, "spec", "volumeClaimTemplates")
	for _, t := range templates {
		if m, ok := t.(map[string]any); ok {
			r.mapStorageClass(m, "spec", "storageClassName")
		}
	}
	if templates != nil {
		_ = unstructured.SetNestedSlice(obj.Object, templates, "spec", "volumeClaimTemplates")
	}
}

// fixEndpoints drops the uids of target references, which point at objects
// of the source cluster, and maps their namespaces.
func fixEndpoints(r *run, obj *unstructured.Unstructured) {
	subsets, _ := obj.Object["subsets"].([]any)
	for _, s := range subsets {
		sm, _ := s.(map[string]any)
		for _, key := range []string{"addresses", "notReadyAddresses"} {
			addrs, _ := sm[key].([]any)
			for _, a := range addrs {
				am, _ := a.(map[string]any)
				r.fixTargetRef(am)
			}
		}
	}
}

func fixEndpointSlice(r *run, obj *unstructured.Unstructured) {
	eps, _ := obj.Object["endpoints"].([]any)
	for _, ep := range eps {
		em, _ := ep.(map[string]any)
		r.fixTargetRef(em)
	}
}

func (r *run) fixTargetRef(m map[string]any) {
	ref, _ := m["targetRef"].(map[string]any)
	if ref == nil {
		return
	}
	delete(ref, "uid")
	delete(ref, "resourceVersion")
	if ns, _ := ref["namespace"].(string); ns != "" {
		ref["namespace"] = r.mapNamespace(ns)
	}
}

// fixBinding maps the namespaces of ServiceAccount subjects; users and
// groups are kept as they are.
func fixBinding(r *run, obj *unstructured.Unstructured) {
	subjects, _ := obj.Object["subjects"].([]any)
	for _, s := range subjects {
		m, _ := s.(map[string]any)
		if m["kind"] != "ServiceAccount" {
			continue
		}
		if ns, _ := m["namespace"].(string); ns != "" {
			m["namespace"] = r.mapNamespace(ns)
		}
	}
}

func fixWebhooks(r *run, obj *unstructured.Unstructured) {
	hooks, _ := obj.Object["webhooks"].([]any)
	for _, h := range hooks {
		m, _ := h.(map[string]any)
		r.mapServiceNamespace(m, "clientConfig", "service", "namespace")
	}
}

func fixAPIService(r *run, obj *unstructured.Unstructured) {
	r.mapServiceNamespace(obj.Object, "spec", "service", "namespace")
}

func fixCRD(r *run, obj *unstructured.Unstructured) {
	r.mapServiceNamespace(obj.Object,
		"spec", "conversion", "webhook", "clientConfig", "service", "namespace")
}

func (r *run) mapServiceNamespace(obj map[string]any, fields ...string) {
	if obj == nil {
		return
	}
	if ns, ok, _ := unstructured.NestedString(obj, fields...); ok && ns != "" {
		_ = unstructured.SetNestedField(obj, r.mapNamespace(ns), fields...)
	}
}
