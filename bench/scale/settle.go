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
// Deployment, and then until the API server and etcd are quiet, so that a
// timed run does not share them with the work an earlier run left to the
// controllers: after the ReplicaSets, the deployment controller still
// writes the status of each Deployment for a while, a hundred writes in a
// 10k run's half second.
func settle(ctx context.Context, dyn dynamic.Interface, cpu *cpuMeter) error {
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
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("controllers still busy: %d ReplicaSets for %d Deployments",
				replicaSets, deployments)
		}
		time.Sleep(time.Second)
	}
	return quiet(ctx, cpu, deadline)
}

// quietCPU is the most CPU time the API server and etcd may use in a second
// for the machine to count as quiet; idle, they use about 20 ms.
const quietCPU = 50 * time.Millisecond

// quiet waits until the API server and etcd have used at most quietCPU in
// each of two seconds in a row.
func quiet(ctx context.Context, cpu *cpuMeter, deadline time.Time) error {
	calm := 0
	for calm < 2 {
		used, err := cpu.measure(func() error {
			select {
			case <-time.After(time.Second):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if err != nil {
			return err
		}
		calm++
		if used.server > quietCPU {
			calm = 0
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the API server is still busy: %s of CPU in a second",
				used.server)
		}
	}
	return nil
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
