// Package selection decides which objects a backup or restore takes: by
// namespace (globs), by resource type (names as kubectl accepts them) and by
// labels. Filters are built once from user input, which is validated then,
// and are safe for concurrent use.
package selection

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/cairn-backup/cairn/internal/cluster"
)

// ErrUnknownResource is returned for a resource name no known type has.
var ErrUnknownResource = errors.New("unknown resource type")

// Namespaces selects namespaces by glob. No include patterns means all.
// Exclusions win over inclusions.
type Namespaces struct {
	include, exclude []string
}

// NewNamespaces validates the patterns.
func NewNamespaces(include, exclude []string) (Namespaces, error) {
	for _, p := range slices.Concat(include, exclude) {
		if _, err := path.Match(p, ""); err != nil {
			return Namespaces{}, fmt.Errorf("namespace pattern %q: %w", p, err)
		}
	}
	return Namespaces{include: include, exclude: exclude}, nil
}

// Match reports whether the namespace is selected.
func (n Namespaces) Match(ns string) bool {
	if matchAny(n.exclude, ns) {
		return false
	}
	return len(n.include) == 0 || matchAny(n.include, ns)
}

// All reports whether every namespace is selected.
func (n Namespaces) All() bool {
	return len(n.exclude) == 0 && (len(n.include) == 0 || slices.Contains(n.include, "*"))
}

// MatchPattern reports whether one namespace pattern, as NewNamespaces
// takes them, matches the namespace.
func MatchPattern(pattern, ns string) bool {
	ok, _ := path.Match(pattern, ns)
	return ok
}

// Literal reports whether a namespace pattern has no wildcard or escape,
// so that it is the name of one namespace.
func Literal(pattern string) bool { return !strings.ContainsAny(pattern, "*?[\\") }

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if MatchPattern(p, s) {
			return true
		}
	}
	return false
}

// Resources selects resource types. Users name a type as kubectl does: its
// plural, singular, kind or a short name, optionally followed by its group
// ("deployments", "deploy", "deployments.apps", "widgets.example.test"), or
// "*" for all. No include names means all types.
type Resources struct {
	include, exclude map[string]bool // keys are GroupResource strings
	all              bool
}

// NewResources resolves the names against the known types. A name that
// matches no known type is an error naming it.
func NewResources(include, exclude []string, known []cluster.Resource) (Resources, error) {
	r := Resources{include: map[string]bool{}, exclude: map[string]bool{}}
	r.all = len(include) == 0 || slices.Contains(include, "*")
	var unknown []string
	resolve := func(names []string, into map[string]bool) {
		for _, name := range names {
			if name == "*" {
				continue
			}
			found := false
			for _, k := range known {
				if Names(name, k) {
					into[k.GroupResource()] = true
					found = true
				}
			}
			if !found {
				unknown = append(unknown, name)
			}
		}
	}
	resolve(include, r.include)
	resolve(exclude, r.exclude)
	if len(unknown) > 0 {
		return Resources{}, fmt.Errorf("%w %s: the cluster does not serve it "+
			"(see kubectl api-resources)", ErrUnknownResource, strings.Join(quote(unknown), ", "))
	}
	return r, nil
}

// Match reports whether the type is selected.
func (r Resources) Match(res cluster.Resource) bool {
	gr := res.GroupResource()
	if r.exclude[gr] {
		return false
	}
	return r.all || r.include[gr]
}

// Excluded reports whether the user excluded the type by name.
func (r Resources) Excluded(res cluster.Resource) bool { return r.exclude[res.GroupResource()] }

// Explicit reports whether the user named the type in the include list, as
// opposed to taking it through "all".
func (r Resources) Explicit(res cluster.Resource) bool { return r.include[res.GroupResource()] }

// Names reports whether a user-written name refers to the type.
func Names(name string, r cluster.Resource) bool {
	name = strings.ToLower(name)
	short, group, hasGroup := strings.Cut(name, ".")
	if hasGroup && group != r.Group {
		return false
	}
	if !hasGroup && name == r.GroupResource() {
		return true
	}
	return short == r.Resource || short == r.Singular ||
		short == strings.ToLower(r.Kind) || slices.Contains(r.ShortNames, short)
}

func quote(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// Labels selects objects by label: the selector, or any of the
// or-selectors. No selectors means every object.
type Labels struct {
	selectors []labels.Selector
}

// NewLabels parses the selectors.
func NewLabels(selector string, orSelectors []string) (Labels, error) {
	if selector != "" && len(orSelectors) > 0 {
		return Labels{}, fmt.Errorf("--selector and --or-selector cannot be combined")
	}
	var l Labels
	for _, s := range append([]string{selector}, orSelectors...) {
		if s == "" {
			continue
		}
		sel, err := labels.Parse(s)
		if err != nil {
			return Labels{}, fmt.Errorf("label selector %q: %w", s, err)
		}
		l.selectors = append(l.selectors, sel)
	}
	return l, nil
}

// Empty reports whether the filter selects everything.
func (l Labels) Empty() bool { return len(l.selectors) == 0 }

// Match reports whether an object with these labels is selected.
func (l Labels) Match(set map[string]string) bool {
	if len(l.selectors) == 0 {
		return true
	}
	for _, s := range l.selectors {
		if s.Matches(labels.Set(set)) {
			return true
		}
	}
	return false
}
