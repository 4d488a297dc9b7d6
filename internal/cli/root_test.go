package cli

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

// TestClusterRateFlags checks that rate limits client-go would misread are
// refused as bad input before a command starts.
func TestClusterRateFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"valid", []string{"--qps", "5", "--burst", "10"}, 0, "cairn:"},
		{"zero qps", []string{"--qps", "0"}, 2,
			"--qps 0: must be a number of requests per second"},
		{"negative qps", []string{"--qps=-1"}, 2, "--qps -1: must be"},
		{"negative burst", []string{"--burst=-3"}, 2, "--burst -3: must be a whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := cairn(t, append([]string{"version", "--client"}, tt.args...)...)
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Fatalf("exit %d, output %q; want exit %d and %q", code, out, tt.code, tt.want)
			}
		})
	}
}

// TestFlagParseErrors checks that a value a flag cannot take is bad input
// reported with what the flag takes, not with the parser's error.
func TestFlagParseErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"int", []string{"backup", "create", "x", "--workers", "abc"},
			`--workers: "abc" is not a whole number; see --help`},
		{"int out of range", []string{"backup", "create", "x", "--workers", "1e99"},
			`--workers: "1e99" is not a whole number; see --help`},
		{"huge int", []string{"backup", "create", "x", "--workers", "99999999999999999999"},
			`--workers: "99999999999999999999" is out of range; see --help`},
		{"uint", []string{"repo", "init", "--chunk-min=-1"},
			`--chunk-min: "-1" is not a whole number of 0 or more; see --help`},
		{"float", []string{"version", "--client", "--qps", "fast"},
			`--qps: "fast" is not a number; see --help`},
		{"bool", []string{"backup", "create", "x", "--include-events=maybe"},
			`--include-events: "maybe" is not true or false; see --help`},
		{"duration", []string{"repo", "forget", "--keep-within", "week"},
			`--keep-within: "week" is not a duration such as 90s, 15m or 36h; see --help`},
		{"log level", []string{"version", "--client", "--log-level", "loud"},
			`--log-level: "loud" is not one of debug, info, warn, error`},
		{"unknown flag", []string{"version", "--colour"}, "unknown flag: --colour; see --help"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := cairn(t, tt.args...)
			if code != 2 || !strings.Contains(out, tt.want) || strings.Contains(out, "parsing") {
				t.Fatalf("exit %d, output %q; want exit 2 and %q", code, out, tt.want)
			}
		})
	}
}

// TestMissingKubeconfig checks that a kubeconfig file that is not there is
// reported as such, not as an unreachable cluster.
func TestMissingKubeconfig(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	tests := [][]string{
		{"backup", "create", "x", "--location", t.TempDir()},
		{"schedule", "list"},
	}
	for _, args := range tests {
		t.Run(args[0], func(t *testing.T) {
			out, code := cairn(t, append(args, "--kubeconfig", missing)...)
			want := "kubeconfig not found: --kubeconfig " + missing + ": no such file"
			if code != 1 || !strings.Contains(out, want) || strings.Contains(out, "unreachable") {
				t.Fatalf("exit %d, output %q; want exit 1 and %q", code, out, want)
			}
		})
	}
}

// TestClientLogsThroughSlog checks that client-go's own log lines, written
// through klog, come out as cairn's structured lines, not in klog's format.
func TestClientLogsThroughSlog(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, logger := os.Stderr, slog.Default()
	os.Stderr = w
	t.Cleanup(func() {
		os.Stderr = stderr
		slog.SetDefault(logger)
		klog.ClearLogger()
	})
	g := &globalOptions{logLevel: "info"}
	if err := g.setupLogging(); err != nil {
		t.Fatal(err)
	}
	klog.InfoS("Waited before sending request", "delay", "1.5s")
	klog.V(4).InfoS("below the verbosity")
	os.Stderr = stderr
	_ = w.Close()
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `level=INFO msg="Waited before sending request" delay=1.5s`
	if !strings.Contains(string(out), want) || strings.Contains(string(out), "verbosity") {
		t.Errorf("stderr %q, want one line with %q", out, want)
	}
}
