package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/selection"
	"github.com/cairn-backup/cairn/internal/server"
	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

// serverFlags select the namespace of an installed cairn server, for the
// commands that work through its resources.
type serverFlags struct{ namespace string }

func (s *serverFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&s.namespace, "namespace", "n", server.DefaultNamespace,
		"namespace of the cairn server's resources")
}

// client builds a client for the cairn.dev resources, once the cluster
// is known to serve them.
func (s *serverFlags) client(g *globalOptions) (client.Client, error) {
	cfg, err := g.cluster.RESTConfig()
	if err != nil {
		return nil, err
	}
	if err := serverInstalled(cfg); err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: server.Scheme()})
	if err != nil {
		return nil, fmt.Errorf("build client: %w", err)
	}
	return c, nil
}

// errNoServer is returned by the commands that work through the cairn
// server's resources in a cluster that does not serve them.
var errNoServer = errors.New("the cairn server is not installed in this cluster")

// serverInstalled checks that the cluster serves the cairn.dev resources:
// without them, every request fails with the API machinery's own words.
func serverInstalled(cfg *rest.Config) error {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("build client: %w", err)
	}
	gv := v1alpha1.GroupVersion.String()
	_, err = dc.ServerResourcesForGroupVersion(gv)
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%w (it serves no %s resources); install it with cairn install",
			errNoServer, gv)
	}
	if err != nil {
		return fmt.Errorf("look up the cairn server's API %s: %w", gv, err)
	}
	return nil
}

func (s *serverFlags) key(name string) client.ObjectKey {
	return client.ObjectKey{Namespace: s.namespace, Name: name}
}

// templateFlags are what a Backup resource takes, as flags. Their names
// are those of cairn backup create.
type templateFlags struct{}

func (templateFlags) bind(f *pflag.FlagSet) {
	f.StringSlice("include-namespaces", nil, "namespaces to back up, as globs (default: all)")
	f.StringSlice("exclude-namespaces", nil, "namespaces to leave out, as globs")
	f.StringSlice("include-resources", nil,
		"resource types to back up, as kubectl names them (default: all)")
	f.StringSlice("exclude-resources", nil, "resource types to leave out")
	f.StringP("selector", "l", "", "label selector objects must match")
	f.StringArray("or-selector", nil,
		"label selector; objects matching any --or-selector are taken (repeatable)")
	f.String("include-cluster-resources", archive.ClusterResourcesAuto,
		"cluster-scoped objects to take: auto, true or false")
	f.Bool("include-events", false, "also back up events")
	f.String("backup-location", "", "BackupLocation to write to (default: the default one)")
	f.Duration("ttl", 0, "delete the backup this long after it ends (default: keep it)")
	f.Duration("timeout", 0, "fail a run that takes longer (default: no limit)")
}

// templateFrom reads a backup template from flags bound by templateFlags
// or by cairn backup create, and checks it as the server would.
func templateFrom(f *pflag.FlagSet) (v1alpha1.BackupTemplate, error) {
	var t v1alpha1.BackupTemplate
	var errs []error
	strs := func(name string) []string {
		v, err := f.GetStringSlice(name)
		errs = append(errs, err)
		return v
	}
	str := func(name string) string {
		v, err := f.GetString(name)
		errs = append(errs, err)
		return v
	}
	dur := func(name string) *metav1.Duration {
		v, err := f.GetDuration(name)
		errs = append(errs, err)
		if v == 0 {
			return nil
		}
		return &metav1.Duration{Duration: v}
	}
	t.IncludeNamespaces, t.ExcludeNamespaces = strs("include-namespaces"),
		strs("exclude-namespaces")
	t.IncludeResources, t.ExcludeResources = strs("include-resources"), strs("exclude-resources")
	t.Selector, t.IncludeClusterResources = str("selector"), str("include-cluster-resources")
	t.Location = str("backup-location")
	t.TTL, t.Timeout = dur("ttl"), dur("timeout")
	or, err := f.GetStringArray("or-selector")
	errs = append(errs, err)
	t.OrSelectors = or
	t.IncludeEvents, err = f.GetBool("include-events")
	errs = append(errs, err)
	for _, err := range errs {
		if err != nil {
			return t, fmt.Errorf("read flags: %w", err)
		}
	}

	switch t.IncludeClusterResources {
	case archive.ClusterResourcesAuto, archive.ClusterResourcesTrue, archive.ClusterResourcesFalse:
	default:
		return t, usageErrorf("--include-cluster-resources %q: must be auto, true or false",
			t.IncludeClusterResources)
	}
	if _, err := selection.NewLabels(t.Selector, t.OrSelectors); err != nil {
		return t, usageErrorf("%v", err)
	}
	if _, err := selection.NewNamespaces(t.IncludeNamespaces, t.ExcludeNamespaces); err != nil {
		return t, usageErrorf("%v", err)
	}
	if t.TTL != nil && t.TTL.Duration < 0 || t.Timeout != nil && t.Timeout.Duration < 0 {
		return t, usageErrorf("--ttl and --timeout must not be negative")
	}
	return t, nil
}

// sinceText renders how long ago a time was, kubectl style.
func sinceText(t *metav1.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	d := now.Sub(t.Time).Round(time.Second)
	switch {
	case d < 0:
		return "in " + (-d).String()
	case d < time.Minute:
		return d.String()
	case d < 48*time.Hour:
		return d.Truncate(time.Minute).String()
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// getObject reads a resource, with a message naming it when it is missing.
func getObject(ctx context.Context, c client.Client, key client.ObjectKey, kind string,
	obj client.Object) error {
	err := c.Get(ctx, key, obj)
	if client.IgnoreNotFound(err) == nil && err != nil {
		return usageErrorf("%s %s/%s does not exist", kind, key.Namespace, key.Name)
	}
	if err != nil {
		return fmt.Errorf("read %s %s/%s: %w", kind, key.Namespace, key.Name, err)
	}
	return nil
}
