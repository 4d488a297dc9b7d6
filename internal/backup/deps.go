package backup

import "sync"

// refs collects the cluster-scoped objects that selected namespaced objects
// depend on, by group resource and name. With --include-cluster-resources
// auto, these are the cluster-scoped objects a backup takes:
//
//   - the Namespace of every selected namespaced object;
//   - the PersistentVolume bound to a selected PersistentVolumeClaim, and the
//     StorageClass named by a selected claim or volume;
//   - the CustomResourceDefinition of every selected custom resource;
//   - the ClusterRole named by a selected RoleBinding;
//   - every ClusterRoleBinding with a ServiceAccount subject in a selected
//     namespace, and the ClusterRole it binds;
//   - the PriorityClass and RuntimeClass named by a selected Pod or pod
//     template (Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs,
//     CronJobs and any type with spec.template.spec);
//   - the IngressClass named by a selected Ingress.
type refs struct {
	mu    sync.Mutex
	names map[string]map[string]bool // group resource → names
	// saNamespaces are the namespaces whose ServiceAccounts a
	// ClusterRoleBinding may bind to be taken.
	saNamespaces map[string]bool
}

func newRefs() *refs {
	return &refs{names: map[string]map[string]bool{}, saNamespaces: map[string]bool{}}
}

func (r *refs) add(gr, name string) {
	if name == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.names[gr]
	if set == nil {
		set = map[string]bool{}
		r.names[gr] = set
	}
	set[name] = true
}

func (r *refs) has(gr, name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.names[gr][name]
}

// podSpecRefs is the part of a pod spec that names cluster-scoped objects.
type podSpecRefs struct {
	PriorityClassName string `json:"priorityClassName"`
	RuntimeClassName  string `json:"runtimeClassName"`
}

// refDoc decodes the fields of any object that name cluster-scoped
// objects; unknown types decode to zero values.
type refDoc struct {
	Spec struct {
		podSpecRefs
		VolumeName       string `json:"volumeName"`
		StorageClassName string `json:"storageClassName"`
		IngressClassName string `json:"ingressClassName"`
		Template         struct {
			Spec podSpecRefs `json:"spec"`
		} `json:"template"`
		JobTemplate struct {
			Spec struct {
				Template struct {
					Spec podSpecRefs `json:"spec"`
				} `json:"template"`
			} `json:"spec"`
		} `json:"jobTemplate"`
	} `json:"spec"`
	RoleRef struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"roleRef"`
	Subjects []struct {
		Kind      string `json:"kind"`
		Namespace string `json:"namespace"`
	} `json:"subjects"`
}

// refTypes are the group resources whose objects can name cluster-scoped
// objects; only these are decoded for references.
var refTypes = map[string]bool{
	"persistentvolumeclaims": true, grPersistentVolumes: true,
	"pods": true, "podtemplates": true, "replicationcontrollers": true,
	"deployments.apps": true, "statefulsets.apps": true, "daemonsets.apps": true,
	"replicasets.apps": true, "jobs.batch": true, "cronjobs.batch": true,
	"rolebindings.rbac.authorization.k8s.io": true, grClusterRoleBindings: true,
	"ingresses.networking.k8s.io": true,
}

// collect records what one selected object references.
// Every grouped type is recorded as a possible CRD name; names of built-in
// types match no CustomResourceDefinition and so select nothing.
func (r *refs) collect(gr, group, resource, namespace string, data []byte) error {
	if namespace != "" {
		r.add(grNamespaces, namespace)
	}
	if group != "" {
		r.add(grCRDs, resource+"."+group)
	}
	if !refTypes[gr] {
		return nil
	}
	var d refDoc
	if err := listJSON.Unmarshal(data, &d); err != nil {
		return err
	}
	s := d.Spec
	switch gr {
	case "persistentvolumeclaims":
		r.add(grPersistentVolumes, s.VolumeName)
		r.add(grStorageClasses, s.StorageClassName)
	case grPersistentVolumes:
		r.add(grStorageClasses, s.StorageClassName)
	case "ingresses.networking.k8s.io":
		r.add(grIngressClasses, s.IngressClassName)
	case "rolebindings.rbac.authorization.k8s.io", grClusterRoleBindings:
		if d.RoleRef.Kind == "ClusterRole" {
			r.add(grClusterRoles, d.RoleRef.Name)
		}
	}
	for _, ps := range []podSpecRefs{s.podSpecRefs, s.Template.Spec, s.JobTemplate.Spec.Template.Spec} {
		r.add(grPriorityClasses, ps.PriorityClassName)
		r.add(grRuntimeClasses, ps.RuntimeClassName)
	}
	return nil
}

// bindsNamespace reports whether a ClusterRoleBinding has a ServiceAccount
// subject in one of the namespaces.
func bindsNamespace(data []byte, namespaces func(string) bool) bool {
	var d refDoc
	if listJSON.Unmarshal(data, &d) != nil {
		return false
	}
	for _, s := range d.Subjects {
		if s.Kind == "ServiceAccount" && namespaces(s.Namespace) {
			return true
		}
	}
	return false
}
