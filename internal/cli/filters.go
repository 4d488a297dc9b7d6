package cli

import (
	"github.com/spf13/pflag"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/restore"
	"github.com/cairn-backup/cairn/internal/selection"
)

// filterFlags are the object filters that backup create and restore create
// share: the same flags, meanings and checks.
type filterFlags struct {
	includeNamespaces, excludeNamespaces []string
	includeResources, excludeResources   []string
	selector                             string
	orSelectors                          []string
	clusterResources                     string
}

// filterHelp holds the words that differ between the commands.
type filterHelp struct {
	verb             string // "back up", "restore"
	namespacesOf     string // "", "of the backup "
	resourcesDefault string
	clusterResources string
}

func (f *filterFlags) bind(fs *pflag.FlagSet, h filterHelp) {
	fs.StringSliceVar(&f.includeNamespaces, "include-namespaces", nil,
		"namespaces "+h.namespacesOf+"to "+h.verb+", as globs (default: all)")
	fs.StringSliceVar(&f.excludeNamespaces, "exclude-namespaces", nil,
		"namespaces "+h.namespacesOf+"to leave out, as globs")
	fs.StringSliceVar(&f.includeResources, "include-resources", nil,
		"resource types to "+h.verb+", as kubectl names them: deployments, deploy, "+
			"deployments.apps, widgets.example.test (default: "+h.resourcesDefault+")")
	fs.StringSliceVar(&f.excludeResources, "exclude-resources", nil,
		"resource types to leave out")
	fs.StringVarP(&f.selector, "selector", "l", "", "label selector objects must match")
	fs.StringArrayVar(&f.orSelectors, "or-selector", nil,
		"label selector; objects matching any --or-selector are taken (repeatable)")
	fs.StringVar(&f.clusterResources, "include-cluster-resources",
		archive.ClusterResourcesAuto, h.clusterResources)
}

func (f *filterFlags) validate() error {
	switch f.clusterResources {
	case archive.ClusterResourcesAuto, archive.ClusterResourcesTrue, archive.ClusterResourcesFalse:
	default:
		return usageErrorf("--include-cluster-resources %q: must be auto, true or false",
			f.clusterResources)
	}
	if _, err := selection.NewLabels(f.selector, f.orSelectors); err != nil {
		return usageErrorf("%v", err)
	}
	if _, err := selection.NewNamespaces(f.includeNamespaces, f.excludeNamespaces); err != nil {
		return usageErrorf("%v", err)
	}
	return nil
}

func (f *filterFlags) backupSpec(s *archive.Spec) {
	s.IncludeNamespaces, s.ExcludeNamespaces = f.includeNamespaces, f.excludeNamespaces
	s.IncludeResources, s.ExcludeResources = f.includeResources, f.excludeResources
	s.Selector, s.OrSelectors = f.selector, f.orSelectors
	s.IncludeClusterResources = f.clusterResources
}

func (f *filterFlags) restoreSpec(s *restore.Spec) {
	s.IncludeNamespaces, s.ExcludeNamespaces = f.includeNamespaces, f.excludeNamespaces
	s.IncludeResources, s.ExcludeResources = f.includeResources, f.excludeResources
	s.Selector, s.OrSelectors = f.selector, f.orSelectors
	s.IncludeClusterResources = f.clusterResources
}
