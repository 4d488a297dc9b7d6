package cluster

import (
	"math"
	"strings"
	"testing"
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
