package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/cairn-backup/cairn/internal/server"
	"github.com/cairn-backup/cairn/internal/version"
)

type installOptions struct {
	global *globalOptions
	opts   server.InstallOptions
	dryRun bool
	out    outputFlag
}

func newInstallCommand(g *globalOptions) *cobra.Command {
	o := &installOptions{global: g}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install the cairn server into the cluster, or print its manifests",
		Long: `Apply the manifests that run cairn server in the cluster: its namespace, the
cairn.dev CRDs, a ServiceAccount with least-privilege RBAC, the Deployment
and a Service for its metrics. Objects are applied server-side, so running
install again updates an installation.

The ServiceAccount may read every type in the cluster, which backups need,
and write only the cairn.dev resources, Events and its leader-election Lease
in its own namespace. Restores need write rights to what they restore:
--allow-restore grants create, update and patch of every type (never
delete). docs/server.md lists every rule.

With --dry-run nothing is sent; the manifests are printed as YAML (or JSON
with -o json).`,
		Example: `  # Look at what would be installed
  cairn install --dry-run -o yaml

  # Install, allowing the server to run restores too
  cairn install --allow-restore

  # Write the manifests for GitOps
  cairn install --dry-run --image registry.example/cairn:v0.3.0 > cairn.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context(), cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.opts.Namespace, "namespace", "n", server.DefaultNamespace,
		"namespace to run the server in")
	f.StringVar(&o.opts.Image, "image", defaultImage(), "container image of cairn")
	f.BoolVar(&o.opts.AllowRestore, "allow-restore", false,
		"grant the write rights restores need (create, update, patch of every type)")
	f.Int32Var(&o.opts.Replicas, "replicas", 1, "server pods; one leads at a time")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the manifests instead of applying them")
	o.out.bind(cmd)
	return cmd
}

// defaultImage is the image of this build of cairn.
func defaultImage() string {
	v := version.Get().Version
	if v == "" || v == "dev" || strings.Contains(v, "dirty") {
		v = "latest"
	}
	return "cairn-backup/cairn:" + v
}

func (o *installOptions) validate() error {
	if err := o.out.validate(); err != nil {
		return err
	}
	if o.out.structured() && !o.dryRun {
		return usageErrorf("-o prints the manifests; add --dry-run")
	}
	if o.opts.Replicas < 1 {
		return usageErrorf("--replicas must be at least 1")
	}
	if o.opts.Image == "" || o.opts.Namespace == "" {
		return usageErrorf("--image and --namespace must not be empty")
	}
	return nil
}

func (o *installOptions) run(ctx context.Context, w io.Writer) error {
	objs, err := server.Manifests(o.opts)
	if err != nil {
		return err
	}
	if o.dryRun {
		return printManifests(w, objs, o.out.format)
	}
	cfg, err := o.global.cluster.RESTConfig()
	if err != nil {
		return err
	}
	if err := server.Apply(ctx, cfg, objs); err != nil {
		return err
	}
	for _, u := range objs {
		fmt.Fprintf(w, "%s/%s applied\n", strings.ToLower(u.GetKind()), u.GetName())
	}
	fmt.Fprintf(w, "cairn server installed in namespace %s\n", o.opts.Namespace)
	return nil
}

// printManifests writes objects as a YAML stream, or as a JSON List.
func printManifests(w io.Writer, objs []*unstructured.Unstructured, format string) error {
	if format == "json" {
		items := make([]any, len(objs))
		for i, u := range objs {
			items[i] = u.Object
		}
		out := outputFlag{format: "json"}
		return out.print(w, map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	}
	for _, u := range objs {
		b, err := yaml.Marshal(u.Object)
		if err != nil {
			return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
		}
		if _, err := fmt.Fprintf(w, "---\n%s", b); err != nil {
			return err
		}
	}
	return nil
}
