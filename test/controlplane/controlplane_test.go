package controlplane

import (
	"context"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

func TestMain(m *testing.M) { os.Exit(RunTests(m)) }

// TestExampleAppRuns deploys the example application and checks that the
// controllers act on it: the Deployment gets a ReplicaSet and the ReplicaSet
// a Pod that mounts the claim.
func TestExampleAppRuns(t *testing.T) {
	cp := Shared(t)
	ns := cp.Namespace(t)
	cp.Apply(t, ExampleApp(t), ns)
	cs := cp.Clientset(t)

	pods := waitPods(t, cs, ns, "app=my-app", 1)
	pod := pods[0]
	if len(pod.OwnerReferences) != 1 || pod.OwnerReferences[0].Kind != "ReplicaSet" {
		t.Fatalf("pod %s owners = %v, want one ReplicaSet", pod.Name, pod.OwnerReferences)
	}
	claim := pod.Spec.Volumes[0].PersistentVolumeClaim
	if claim == nil || claim.ClaimName != "my-pvc" {
		t.Fatalf("pod volume = %+v, want claim my-pvc", pod.Spec.Volumes[0])
	}
	rss, err := cs.AppsV1().ReplicaSets(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rss.Items) != 1 || rss.Items[0].OwnerReferences[0].Name != "my-deployment" {
		t.Fatalf("replicasets = %d, want 1 owned by my-deployment", len(rss.Items))
	}
}

// TestNamespaceDeletionCompletes checks that the namespace controller runs:
// restore tests rely on a deleted namespace going away.
func TestNamespaceDeletionCompletes(t *testing.T) {
	cp := Shared(t)
	ns := cp.Namespace(t)
	cp.Apply(t, ExampleApp(t), ns)
	cs := cp.Clientset(t)
	ctx := context.Background()
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("namespace %s still present after a minute", ns)
}

func waitPods(t *testing.T, cs kubernetes.Interface, ns, selector string, n int) []corev1.Pod {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		list, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) >= n {
			return list.Items
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("fewer than %d pods matching %q in %s after a minute", n, selector, ns)
	return nil
}
