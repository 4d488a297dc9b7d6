package main

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

var gvrReplicaSets = schema.GroupVersionResource{Group: "apps", Version: "v1",
	Resource: "replicasets"}

// settle waits until the controllers have made a ReplicaSet for every
// Deployment, so that a timed run does not share the API server with the
// work an earlier run left to them.
func settle(ctx context.Context, dyn dynamic.Interface) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		deployments, err := count(ctx, dyn, gvrDeployments)
		if err != nil {
			return err
		}
		replicaSets, err := count(ctx, dyn, gvrReplicaSets)
		if err != nil {
			return err
		}
		if replicaSets >= deployments {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("controllers still busy: %d ReplicaSets for %d Deployments",
				replicaSets, deployments)
		}
		time.Sleep(time.Second)
	}
}

// count counts the objects of a type in every namespace.
func count(ctx context.Context, dyn dynamic.Interface, gvr schema.GroupVersionResource) (int, error) {
	n, cont := 0, ""
	for {
		list, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 500, Continue: cont})
		if err != nil {
			return 0, err
		}
		n += len(list.Items)
		if cont = list.GetContinue(); cont == "" {
			return n, nil
		}
	}
}
