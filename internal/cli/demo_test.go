package cli

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairn-backup/cairn/test/controlplane"
)

// TestDemo runs hack/demo.sh, what make demo shows, against the shared
// control plane with the built binary, and checks that it ends by saying
// why the restored Pod never runs there.
func TestDemo(t *testing.T) {
	cp := controlplane.Shared(t)
	bin := buildCairn(t)
	t.Cleanup(func() {
		_ = cp.Clientset(t).CoreV1().Namespaces().Delete(context.Background(), "shop",
			metav1.DeleteOptions{})
	})

	demo := exec.CommandContext(t.Context(), "bash", "../../hack/demo.sh")
	demo.Env = append(os.Environ(), "KUBECONFIG="+cp.Kubeconfig, "CAIRN="+bin)
	out, err := demo.CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{
		"Restore shop-back Completed",
		"Pending",
		"Pod and claim stay Pending: the local control plane has no scheduler, " +
			"kubelet or volume provisioner, so Pods never run on it.",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}
