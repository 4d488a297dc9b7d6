package cli

import (
	"strings"
	"testing"
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
		{"zero qps", []string{"--qps", "0"}, 2, "--qps 0: must be a number of requests per second"},
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
