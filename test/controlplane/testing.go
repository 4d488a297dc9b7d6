package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

var (
	shared   *ControlPlane
	nsSerial atomic.Int64
)

// RunTests is a TestMain body: it starts one control plane for the tests of
// a package, runs them, and stops it, also when the run is interrupted. A
// test that panics kills the test binary, and the children with it, because
// they receive a kill signal when their parent dies.
//
//	func TestMain(m *testing.M) { os.Exit(controlplane.RunTests(m)) }
func RunTests(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cp, err := Start(ctx, Options{Logf: func(f string, a ...any) {
		fmt.Fprintf(os.Stderr, "controlplane: "+f+"\n", a...)
	}})
	if err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: %v\n", err)
		return 1
	}
	shared = cp

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		_ = cp.Stop()
		os.Exit(1)
	}()

	code := m.Run()
	signal.Stop(sigs)
	if err := cp.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: stop: %v\n", err)
	}
	return code
}

// Shared returns the control plane RunTests started.
func Shared(t testing.TB) *ControlPlane {
	t.Helper()
	if shared == nil {
		t.Fatal("no control plane: call controlplane.RunTests from TestMain")
	}
	return shared
}

// RESTConfig returns a copy of the admin client configuration.
func (cp *ControlPlane) RESTConfig() *rest.Config { return rest.CopyConfig(cp.Config) }

// Clientset returns a typed client for the admin identity.
func (cp *ControlPlane) Clientset(t testing.TB) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cp.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// Namespace creates a namespace unique to the test and deletes it when the
// test ends.
func (cp *ControlPlane) Namespace(t testing.TB) string {
	t.Helper()
	name := strings.ToLower(t.Name())
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, name)
	if len(name) > 40 {
		name = name[:40]
	}
	name = fmt.Sprintf("%s-%d", strings.Trim(name, "-"), nsSerial.Add(1))
	cs := cp.Clientset(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cs.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

// Compact compacts etcd's history up to its current revision, as the API
// server does every few minutes, so that reads at older resourceVersions
// fail with 410 Gone. It uses etcd's JSON gateway.
func (cp *ControlPlane) Compact(t testing.TB) {
	t.Helper()
	post := func(path, body string) map[string]any {
		resp, err := http.Post(cp.EtcdURL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("etcd %s: %v", path, err)
		}
		defer func() { _ = resp.Body.Close() }()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("etcd %s: status %s, %v", path, resp.Status, err)
		}
		return out
	}
	// A range read of one key returns the current revision in its header.
	status := post("/v3/kv/range", `{"key":"Lw==","limit":1}`)
	header, _ := status["header"].(map[string]any)
	rev, _ := header["revision"].(string)
	if rev == "" {
		t.Fatalf("etcd returned no revision: %v", status)
	}
	post("/v3/kv/compaction", fmt.Sprintf(`{"revision":%q,"physical":true}`, rev))
}
