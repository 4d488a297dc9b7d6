package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// Resource is one type of API object the cluster serves, in its group's
// server-preferred version.
type Resource struct {
	schema.GroupVersionResource
	Kind       string
	Singular   string
	ShortNames []string
	Namespaced bool
	// Aggregated is true for types served by an aggregated API server,
	// which cannot promise reads at an exact resourceVersion.
	Aggregated bool
}

// GroupResource is the resource's name as users write it:
// "deployments.apps", or "configmaps" for the core group.
func (r Resource) GroupResource() string {
	if r.Group == "" {
		return r.Resource
	}
	return r.Resource + "." + r.Group
}

// String names the resource with its version, as in "deployments.v1.apps".
func (r Resource) String() string {
	if r.Group == "" {
		return r.Resource + "." + r.Version
	}
	return r.Resource + "." + r.Version + "." + r.Group
}

var apiServicesGVR = schema.GroupVersionResource{
	Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices",
}

// Resources returns every type the cluster serves that can be listed, in
// each group's preferred version. Groups whose discovery failed, such as an
// aggregated API server that is down, are left out and returned as a
// non-nil error beside the resources that were found.
func (c *Cluster) Resources(ctx context.Context) ([]Resource, error) {
	lists, discErr := c.Discovery.ServerPreferredResources()
	var partial *discovery.ErrGroupDiscoveryFailed
	if discErr != nil && !errors.As(discErr, &partial) {
		return nil, fmt.Errorf("discover API resources: %w", discErr)
	}
	aggregated, err := c.aggregatedGroupVersions(ctx)
	if err != nil {
		return nil, err
	}
	var out []Resource
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			return nil, fmt.Errorf("discover API resources: %w", err)
		}
		for _, r := range list.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") {
				continue
			}
			out = append(out, Resource{
				GroupVersionResource: gv.WithResource(r.Name),
				Kind:                 r.Kind,
				Singular:             r.SingularName,
				ShortNames:           r.ShortNames,
				Namespaced:           r.Namespaced,
				Aggregated:           aggregated[gv],
			})
		}
	}
	slices.SortFunc(out, func(a, b Resource) int {
		return strings.Compare(a.String(), b.String())
	})
	if partial != nil {
		return out, fmt.Errorf("discover API resources: %w", discErr)
	}
	return out, nil
}

// aggregatedGroupVersions returns the group versions that APIService
// objects route to a Service, that is to an aggregated API server.
func (c *Cluster) aggregatedGroupVersions(ctx context.Context) (map[schema.GroupVersion]bool, error) {
	list, err := c.Dynamic.Resource(apiServicesGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list apiservices: %w", err)
	}
	out := map[schema.GroupVersion]bool{}
	for _, item := range list.Items {
		svc, _, _ := unstructured.NestedMap(item.Object, "spec", "service")
		if svc == nil {
			continue
		}
		group, _, _ := unstructured.NestedString(item.Object, "spec", "group")
		version, _, _ := unstructured.NestedString(item.Object, "spec", "version")
		out[schema.GroupVersion{Group: group, Version: version}] = true
	}
	return out, nil
}
