package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

var sprintf = fmt.Sprintf

// outputFlag is the -o flag of commands that print something a script may read.
type outputFlag struct{ format string }

func (o *outputFlag) bind(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.format, "output", "o", "", "output format: json or yaml (default: a table for people)")
}

func (o *outputFlag) validate() error {
	switch o.format {
	case "", "json", "yaml":
		return nil
	}
	return usageErrorf("--output %q: must be json or yaml", o.format)
}

// structured reports whether the user asked for machine-readable output.
func (o *outputFlag) structured() bool { return o.format != "" }

// print writes v as JSON or YAML.
func (o *outputFlag) print(w io.Writer, v any) error {
	switch o.format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	return fmt.Errorf("output format %q has no encoder", o.format)
}
