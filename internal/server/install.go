package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

// Names of the objects `cairn install` creates.
const (
	ServiceAccountName = "cairn-server"
	readRoleName       = "cairn-server-read"
	restoreRoleName    = "cairn-server-restore"
	metricsPort        = 8085
	probePort          = 8081
)

// InstallOptions shape the manifests of an installation.
type InstallOptions struct {
	// Namespace is the server's namespace.
	Namespace string
	// Image is the container image; its entrypoint is the cairn binary.
	Image string
	// AllowRestore grants the write rights restores need. Without it the
	// server can back up everything and change nothing outside its own
	// resources.
	AllowRestore bool
	// Replicas is the number of server pods; one leads at a time.
	Replicas int32
}

// Manifests returns the objects of an installation, in the order they are
// applied: the namespace, the CRDs, the ServiceAccount and its rights, the
// Deployment and the metrics Service.
func Manifests(o InstallOptions) ([]*unstructured.Unstructured, error) {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	crds, err := CRDs()
	if err != nil {
		return nil, err
	}
	objs := []runtime.Object{namespace(o)}
	typed := []runtime.Object{serviceAccount(o)}
	typed = append(typed, rbac(o)...)
	typed = append(typed, deployment(o), metricsService(o))

	out := make([]*unstructured.Unstructured, 0, len(objs)+len(crds)+len(typed))
	for _, obj := range objs {
		u, err := toUnstructured(obj)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	out = append(out, crds...)
	for _, obj := range typed {
		u, err := toUnstructured(obj)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// CRDs returns the CustomResourceDefinitions of the cairn.dev resources.
func CRDs() ([]*unstructured.Unstructured, error) {
	files, err := fs.Glob(config.CRDs, "crd/*.yaml")
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	var out []*unstructured.Unstructured
	for _, f := range files {
		data, err := fs.ReadFile(config.CRDs, f)
		if err != nil {
			return nil, err
		}
		objs, err := decodeYAML(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path.Base(f), err)
		}
		out = append(out, objs...)
	}
	return out, nil
}

func decodeYAML(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

func labels() map[string]string {
	return map[string]string{"app.kubernetes.io/name": "cairn",
		"app.kubernetes.io/component": "server"}
}

func namespace(o InstallOptions) *corev1.Namespace {
	return &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Namespace, Labels: labels()},
	}
}

func serviceAccount(o InstallOptions) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: metav1.ObjectMeta{Name: ServiceAccountName, Namespace: o.Namespace,
			Labels: labels()},
	}
}

// rbac returns the server's rights (docs/server.md explains each rule):
//   - cluster-wide: read every type, which a backup of anything needs;
//   - in its namespace: its own resources, the leader-election Lease and
//     events;
//   - with AllowRestore only: create, update and patch of every type.
//
// It never gets delete outside its namespace, nor escalate, bind or
// impersonate anywhere.
func rbac(o InstallOptions) []runtime.Object {
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: ServiceAccountName,
		Namespace: o.Namespace}}
	read := &rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: readRoleName, Labels: labels()},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"},
			Verbs: []string{"get", "list", "watch"}}},
	}
	own := &rbacv1.Role{
		TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
		ObjectMeta: metav1.ObjectMeta{Name: ServiceAccountName, Namespace: o.Namespace,
			Labels: labels()},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{v1alpha1.GroupVersion.Group},
				Resources: []string{"backups", "restores", "schedules", "backuplocations",
					"backups/status", "restores/status", "schedules/status",
					"backuplocations/status"},
				Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
			{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"},
				Verbs: []string{"get", "list", "watch", "create", "update", "patch"}},
			{APIGroups: []string{"", "events.k8s.io"}, Resources: []string{"events"},
				Verbs: []string{"create", "update", "patch"}},
		},
	}
	objs := []runtime.Object{
		read, clusterBinding(readRoleName, subject),
		own, &rbacv1.RoleBinding{
			TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1",
				Kind: "RoleBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: ServiceAccountName, Namespace: o.Namespace,
				Labels: labels()},
			RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role",
				Name: ServiceAccountName},
			Subjects: subject,
		},
	}
	if o.AllowRestore {
		write := &rbacv1.ClusterRole{
			TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1",
				Kind: "ClusterRole"},
			ObjectMeta: metav1.ObjectMeta{Name: restoreRoleName, Labels: labels()},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"},
				Verbs: []string{"create", "update", "patch"}}},
		}
		objs = append(objs, write, clusterBinding(restoreRoleName, subject))
	}
	return objs
}

func clusterBinding(role string, subject []rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1",
			Kind: "ClusterRoleBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: role, Labels: labels()},
		RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole",
			Name: role},
		Subjects: subject,
	}
}

// toUnstructured turns a typed object into its map form, without the
// empty status and creationTimestamp that typed objects carry.
func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
	return u, nil
}

// Apply creates or updates objects with server-side apply, in order, and
// waits for every CRD among them to be served before going on.
func Apply(ctx context.Context, cfg *rest.Config, objs []*unstructured.Unstructured) error {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	for _, u := range objs {
		gvk := u.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			mapper.Reset()
			if mapping, err = mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
				return fmt.Errorf("apply %s %s: %w", gvk.Kind, u.GetName(), err)
			}
		}
		var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if u.GetNamespace() != "" {
			ri = dyn.Resource(mapping.Resource).Namespace(u.GetNamespace())
		}
		_, err = ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: "cairn-install",
			Force: true})
		if err != nil {
			return fmt.Errorf("apply %s %s: %w", gvk.Kind, u.GetName(), err)
		}
		if gvk.Kind == "CustomResourceDefinition" {
			if err := waitEstablished(ctx, dyn.Resource(mapping.Resource), u.GetName()); err != nil {
				return err
			}
			mapper.Reset()
		}
	}
	return nil
}

// waitEstablished waits until the API server serves a CRD.
func waitEstablished(ctx context.Context, crds dynamic.NamespaceableResourceInterface,
	name string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		u, err := crds.Get(ctx, name, metav1.GetOptions{})
		if err == nil && established(u) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CRD %s not established: %w", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func established(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}
