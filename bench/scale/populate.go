package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

var (
	gvrConfigMaps  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	gvrSecrets     = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	gvrDeployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	gvrWidgets     = schema.GroupVersionResource{Group: "bench.example.test", Version: "v1", Resource: "widgets"}
	gvrNamespaces  = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	benchTypes     = []schema.GroupVersionResource{gvrConfigMaps, gvrSecrets, gvrDeployments, gvrWidgets}
)

const crd = `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
"metadata":{"name":"widgets.bench.example.test"},
"spec":{"group":"bench.example.test","scope":"Namespaced",
"names":{"plural":"widgets","singular":"widget","kind":"Widget"},
"versions":[{"name":"v1","served":true,"storage":true,
"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`

// object builds the i-th object of the population: 70% ConfigMaps of
// about 1 KiB, 10% each Secrets, Deployments at 0 replicas and Widgets.
func object(i int, ns string) (schema.GroupVersionResource, *unstructured.Unstructured) {
	name := fmt.Sprintf("obj-%07d", i)
	meta := map[string]any{"name": name, "namespace": ns, "labels": map[string]any{"bench": "scale"}}
	switch i % 10 {
	case 7:
		return gvrSecrets, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Secret", "metadata": meta,
			"stringData": map[string]any{"password": strings.Repeat("s", 64)}}}
	case 8:
		labels := map[string]any{"app": name}
		return gvrDeployments, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
			"spec": map[string]any{
				"replicas": int64(0),
				"selector": map[string]any{"matchLabels": labels},
				"template": map[string]any{
					"metadata": map[string]any{"labels": labels},
					"spec": map[string]any{"containers": []any{
						map[string]any{"name": "app", "image": "example.test/app:1"}}},
				}}}}
	case 9:
		return gvrWidgets, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "bench.example.test/v1", "kind": "Widget", "metadata": meta,
			"spec": map[string]any{"size": int64(i)}}}
	}
	return gvrConfigMaps, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
		"data": map[string]any{"k": strings.Repeat("v", 1024)}}}
}

// namespaceOf spreads objects over the namespaces.
func namespaceOf(prefix string, i, namespaces int) string {
	return fmt.Sprintf("%s-%02d", prefix, i%namespaces)
}

// createNamespaces makes the namespaces of a population.
func createNamespaces(ctx context.Context, dyn dynamic.Interface, prefix string, n int) error {
	for i := range n {
		ns := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Namespace",
			"metadata": map[string]any{"name": fmt.Sprintf("%s-%02d", prefix, i)}}}
		if _, err := dyn.Resource(gvrNamespaces).Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// create makes objects from..to-1 of the population in namespaces named
// prefix-NN, with the given number of workers, and returns the time taken.
// This is also the raw create ceiling restore is compared with; byType
// creates the objects type after type, Deployments after ConfigMaps and
// Secrets as a restore does, so that the controllers' work on the
// Deployments falls at the end in both.
func create(ctx context.Context, dyn dynamic.Interface, prefix string, from, to, namespaces,
	workers int, byType bool) (time.Duration, error) {
	order := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		order = append(order, i)
	}
	if byType {
		rank := func(i int) int { return max(i%10, 7) } // ConfigMaps and Secrets first
		slices.SortStableFunc(order, func(a, b int) int { return rank(a) - rank(b) })
	}
	start := time.Now()
	g, ctx := errgroup.WithContext(ctx)
	next := 0
	var mu sync.Mutex
	for range workers {
		g.Go(func() error {
			for {
				mu.Lock()
				k := next
				next++
				mu.Unlock()
				if k >= len(order) {
					return nil
				}
				i := order[k]
				ns := namespaceOf(prefix, i, namespaces)
				gvr, obj := object(i, ns)
				if _, err := dyn.Resource(gvr).Namespace(ns).Create(ctx, obj,
					metav1.CreateOptions{}); err != nil {
					return fmt.Errorf("create %s %s/%s: %w", gvr.Resource, ns, obj.GetName(), err)
				}
			}
		})
	}
	err := g.Wait()
	return time.Since(start), err
}

// rawList lists the population's types across all namespaces, paginated
// with the page size cairn uses, with workers types at once, reading the
// bytes without decoding the objects: the list ceiling backup is compared
// with. A non-empty rv reads every type at that revision, as cairn does.
func rawList(ctx context.Context, rc rest.Interface, workers int, rv string) (time.Duration,
	error) {
	start := time.Now()
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for _, gvr := range benchTypes {
		g.Go(func() error {
			path := "/apis/" + gvr.Group + "/" + gvr.Version + "/" + gvr.Resource
			if gvr.Group == "" {
				path = "/api/v1/" + gvr.Resource
			}
			cont := ""
			for {
				req := rc.Get().AbsPath(path).SetHeader("Accept", "application/json").
					Param("limit", "500")
				switch {
				case cont != "":
					req = req.Param("continue", cont)
				case rv != "":
					req = req.Param("resourceVersion", rv).Param("resourceVersionMatch", "Exact")
				}
				body, err := req.Do(ctx).Raw()
				if err != nil {
					return err
				}
				var page struct {
					Metadata struct {
						Continue string `json:"continue"`
					} `json:"metadata"`
				}
				// Only the list's metadata is decoded; it comes first.
				dec := json.NewDecoder(bytes.NewReader(body))
				if err := decodeMetadata(dec, &page.Metadata); err != nil {
					return err
				}
				if cont = page.Metadata.Continue; cont == "" {
					return nil
				}
			}
		})
	}
	err := g.Wait()
	return time.Since(start), err
}

// decodeMetadata decodes the "metadata" member of the JSON object dec is
// at, skipping the members before it and not reading the ones after.
func decodeMetadata(dec *json.Decoder, v any) error {
	if _, err := dec.Token(); err != nil {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if tok == "metadata" {
			return dec.Decode(v)
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	return nil
}
