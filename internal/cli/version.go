package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/version"
)

type versionOptions struct {
	global *globalOptions
	out    outputFlag
	client bool
}

// versionReport is what `cairn version` prints.
type versionReport struct {
	version.Info `json:",inline"`
	Server       string `json:"serverVersion,omitempty"`
	ServerError  string `json:"serverError,omitempty"`
}

func newVersionCommand(g *globalOptions) *cobra.Command {
	o := &versionOptions{global: g}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of cairn and of the cluster",
		Example: `  cairn version
  cairn version --client
  cairn version -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.out.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context(), cmd.OutOrStdout())
		},
	}
	o.out.bind(cmd)
	cmd.Flags().BoolVar(&o.client, "client", false, "print only the client version; do not contact the cluster")
	return cmd
}

func (o *versionOptions) run(ctx context.Context, w io.Writer) error {
	r := versionReport{Info: version.Get()}
	if !o.client {
		r.Server, r.ServerError = o.serverVersion(ctx)
	}

	if o.out.structured() {
		return o.out.print(w, r)
	}
	fmt.Fprintf(w, "cairn:      %s\ncommit:     %s\ngo:         %s\n", r.Version, r.Commit, r.GoVersion)
	switch {
	case r.Server != "":
		fmt.Fprintf(w, "kubernetes: %s\n", r.Server)
	case r.ServerError != "":
		fmt.Fprintf(w, "kubernetes: unknown (%s)\n", r.ServerError)
	}
	return nil
}

// serverVersion asks the cluster briefly; version must work without one.
func (o *versionOptions) serverVersion(ctx context.Context) (string, string) {
	opts := o.global.cluster
	opts.Timeout = 5 * time.Second
	c, err := opts.Connect()
	if err != nil {
		return "", err.Error()
	}
	v, err := c.ServerVersion(ctx)
	if err != nil {
		return "", err.Error()
	}
	return v, ""
}
