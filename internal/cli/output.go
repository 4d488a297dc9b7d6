package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/cairn-backup/cairn/internal/location"
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

// listCommand builds the list command of stored items of one kind: list
// reads them from a location, noun names them when there are none, and
// header and row make the table people see; -o prints them whole. Items
// read beside errors are printed before the errors are returned.
func listCommand[T any](short, example, noun, header string,
	list func(context.Context, *location.Location) ([]T, error), row func(T) string) *cobra.Command {
	var loc locationFlag
	var out outputFlag
	cmd := &cobra.Command{
		Use:     "list",
		Short:   short,
		Example: example,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			ctx := cmd.Context()
			l, err := loc.open(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = l.Close() }()
			items, listErr := list(ctx, l)
			if listErr != nil && len(items) == 0 {
				// Nothing read is no list, not an empty one.
				return listErr
			}
			w := cmd.OutOrStdout()
			switch {
			case out.structured():
				if items == nil {
					items = []T{}
				}
				err = out.print(w, items)
			case len(items) == 0:
				fmt.Fprintln(os.Stderr, "no "+noun)
			default:
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, header)
				for _, it := range items {
					fmt.Fprintln(tw, row(it))
				}
				err = tw.Flush()
			}
			if err != nil {
				return err
			}
			return listErr
		},
	}
	loc.bind(cmd)
	out.bind(cmd)
	return cmd
}
