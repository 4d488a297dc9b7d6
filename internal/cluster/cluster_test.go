package cluster

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name  string
		qps   float32
		burst int
		want  string // "" when the options are valid
	}{
		{"defaults", DefaultQPS, DefaultBurst, ""},
		{"slow", 0.5, 1, ""},
		{"zero qps", 0, DefaultBurst, "--qps 0: must be a number of requests per second above 0"},
		{"negative qps", -1, DefaultBurst, "--qps -1: "},
		{"NaN qps", float32(math.NaN()), DefaultBurst, "--qps NaN: "},
		{"infinite qps", float32(math.Inf(1)), DefaultBurst, "--qps +Inf: "},
		{"zero burst", DefaultQPS, 0, "--burst 0: must be a whole number of requests, at least 1"},
		{"negative burst", DefaultQPS, -5, "--burst -5: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{QPS: tt.qps, Burst: tt.burst}
			err := o.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestRESTConfigNoKubeconfig checks that a missing kubeconfig is reported
// as such, with where cairn looked and how to point it at one, and not as
// an unreachable cluster.
func TestRESTConfigNoKubeconfig(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // not inside a cluster
	dir := t.TempDir()
	good := filepath.Join(dir, "kubeconfig")
	kc := "apiVersion: v1\nkind: Config\n" +
		"clusters: [{name: c, cluster: {server: https://127.0.0.1:1}}]\n" +
		"contexts: [{name: c, context: {cluster: c}}]\ncurrent-context: c\n"
	if err := os.WriteFile(good, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nope")

	tests := []struct {
		name       string
		flag, env  string
		want       string // "" when a configuration loads
		needNoHome bool   // the case needs no file at the default path
	}{
		{"flag", good, "", "", false},
		{"env", "", good, "", false},
		{"missing flag", missing, good, "--kubeconfig " + missing + ": no such file", false},
		{"missing env", "", missing, "no kubeconfig at $KUBECONFIG (" + missing + ")", false},
		{"none", "", "", "no kubeconfig at " + clientcmd.RecommendedHomeFile +
			", and not running inside a cluster", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(clientcmd.RecommendedHomeFile); tt.needNoHome && err == nil {
				t.Skipf("%s exists", clientcmd.RecommendedHomeFile)
			}
			t.Setenv("KUBECONFIG", tt.env)
			o := Options{Kubeconfig: tt.flag, QPS: DefaultQPS, Burst: DefaultBurst}
			_, err := o.RESTConfig()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("RESTConfig() = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrNoKubeconfig) || errors.Is(err, ErrUnreachable) {
				t.Fatalf("RESTConfig() = %v, want ErrNoKubeconfig only", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) ||
				!strings.Contains(msg, "--kubeconfig or $KUBECONFIG") {
				t.Fatalf("RESTConfig() = %q, want %q and how to point at one", msg, tt.want)
			}
		})
	}
}
