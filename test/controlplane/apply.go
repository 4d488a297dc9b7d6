package controlplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
)

// ExampleApp returns the manifests of the example application in
// examples/shop.yaml.
func ExampleApp(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "examples", "shop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Apply creates the objects of a multi-document YAML stream. A non-empty
// namespace replaces the namespace of every namespaced object, and Namespace
// objects are skipped, so a test can place an application in its own
// namespace.
func (cp *ControlPlane) Apply(t testing.TB, manifests []byte, namespace string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := cp.apply(context.Background(), manifests, namespace)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func (cp *ControlPlane) apply(ctx context.Context, manifests []byte,
	namespace string) ([]*unstructured.Unstructured, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cp.RESTConfig())
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn, err := dynamic.NewForConfig(cp.RESTConfig())
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifests), 4096)
	var created []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); errors.Is(err, io.EOF) {
			return created, nil
		} else if err != nil {
			return nil, fmt.Errorf("decode manifests: %w", err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		gvk := obj.GroupVersionKind()
		if namespace != "" && gvk.Group == "" && gvk.Kind == "Namespace" {
			continue
		}
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			mapper.Reset()
			if mapping, err = mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
				return nil, fmt.Errorf("map %s: %w", gvk, err)
			}
		}
		var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == "namespace" {
			if namespace != "" {
				obj.SetNamespace(namespace)
			}
			ri = dyn.Resource(mapping.Resource).Namespace(obj.GetNamespace())
		}
		out, err := ri.Create(ctx, obj, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("create %s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
		}
		created = append(created, out)
	}
}

// CreateConfigMaps creates n ConfigMaps named cm-00000... in a namespace,
// each with one value of size bytes, with several clients at once.
func (cp *ControlPlane) CreateConfigMaps(t testing.TB, ns string, n, size int) {
	t.Helper()
	cs := cp.Clientset(t)
	value := strings.Repeat("x", size)
	const writers = 16
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			var err error
			for i := w; i < n && err == nil; i += writers {
				cm := &corev1.ConfigMap{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%05d", i)},
					Data:       map[string]string{"k": value},
				}
				_, err = cs.CoreV1().ConfigMaps(ns).Create(context.Background(), cm,
					metav1.CreateOptions{})
			}
			errs <- err
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
