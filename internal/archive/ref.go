package archive

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// Names of the layout. See the package documentation for how they fit.
const (
	// ResourcesDir is the top folder of all object entries.
	ResourcesDir = "resources"

	// CoreGroup stands for the core API group (the empty group name) in paths.
	// A real group named "core" would collide with it and is refused.
	CoreGroup = "core"

	// ClusterScope is the scope folder of cluster-scoped objects.
	ClusterScope = "cluster"

	// NamespacesDir is the scope folder that holds one folder per namespace.
	NamespacesDir = "namespaces"

	// ObjectExt ends every object entry's name.
	ObjectExt = ".json"

	// MaxPathLen bounds the length of an object entry's path in bytes.
	MaxPathLen = 4096
)

// ObjectRef names one API object.
type ObjectRef struct {
	// Group is the API group; "" is the core group.
	Group string `json:"group"`
	// Version is the API version the object was read in, such as "v1".
	Version string `json:"version"`
	// Resource is the plural resource name, such as "configmaps".
	Resource string `json:"resource"`
	// Namespace is "" for cluster-scoped objects.
	Namespace string `json:"namespace,omitempty"`
	// Name is the object's metadata.name.
	Name string `json:"name"`
}

// Path returns the object's entry path inside the archive:
// resources/<group>/<version>/<resource>/<scope>/<name>.json, where <group>
// is "core" for the core group and <scope> is "cluster" or
// "namespaces/<namespace>". Path only formats; Validate tells whether the
// result is safe.
func (r ObjectRef) Path() string {
	group := r.Group
	if group == "" {
		group = CoreGroup
	}
	scope := ClusterScope
	if r.Namespace != "" {
		scope = NamespacesDir + "/" + r.Namespace
	}
	return ResourcesDir + "/" + group + "/" + r.Version + "/" + r.Resource + "/" +
		scope + "/" + r.Name + ObjectExt
}

// String renders the reference for people: "deployments.apps/v1 shop/web",
// "namespaces/v1 shop".
func (r ObjectRef) String() string {
	var b strings.Builder
	b.WriteString(r.Resource)
	if r.Group != "" {
		b.WriteString("." + r.Group)
	}
	b.WriteString("/" + r.Version + " ")
	if r.Namespace != "" {
		b.WriteString(r.Namespace + "/")
	}
	b.WriteString(r.Name)
	return b.String()
}

// Validate checks that every part of the reference is a safe, non-empty
// path segment, so that Path names exactly one file below resources/ and
// ParsePath gives the reference back.
func (r ObjectRef) Validate() error {
	if r.Group == CoreGroup {
		return fmt.Errorf("%w: group %q is reserved for the core group", ErrInvalidRef, r.Group)
	}
	parts := []struct {
		what, value string
		optional    bool
	}{
		{"group", r.Group, true},
		{"version", r.Version, false},
		{"resource", r.Resource, false},
		{"namespace", r.Namespace, true},
		{"name", r.Name, false},
	}
	for _, p := range parts {
		if p.optional && p.value == "" {
			continue
		}
		if err := checkSegment(p.value); err != nil {
			return fmt.Errorf("%w: %s %q %s", ErrInvalidRef, p.what, p.value, err)
		}
	}
	if n := len(r.Path()); n > MaxPathLen {
		return fmt.Errorf("%w: path is %d bytes, more than %d", ErrInvalidRef, n, MaxPathLen)
	}
	return nil
}

// segmentError says why a path segment is refused. It is a plain string
// because callers fold it into a message that wraps their own sentinel.
type segmentError string

func (e segmentError) Error() string { return string(e) }

func checkSegment(s string) error {
	switch {
	case s == "":
		return segmentError("is empty")
	case s == "." || s == "..":
		return segmentError("is a relative path element")
	case strings.Contains(s, "/"):
		return segmentError("contains a slash")
	case strings.ContainsRune(s, 0):
		return segmentError("contains a NUL byte")
	case !utf8.ValidString(s):
		return segmentError("is not valid UTF-8")
	}
	return nil
}

// ParsePath turns an object entry path back into the reference it names.
// It accepts only paths that ObjectRef.Path would produce for a valid
// reference: relative, clean, below resources/, ending in .json.
func ParsePath(p string) (ObjectRef, error) {
	ref, err := parsePath(p)
	if err != nil {
		return ObjectRef{}, fmt.Errorf("parse %q: %w", p, err)
	}
	return ref, nil
}

func parsePath(p string) (ObjectRef, error) {
	switch {
	case p == "":
		return ObjectRef{}, fmt.Errorf("%w: empty", ErrInvalidPath)
	case strings.HasPrefix(p, "/"):
		return ObjectRef{}, fmt.Errorf("%w: absolute", ErrInvalidPath)
	case len(p) > MaxPathLen:
		return ObjectRef{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidPath, MaxPathLen)
	case path.Clean(p) != p:
		return ObjectRef{}, fmt.Errorf("%w: not a clean path", ErrInvalidPath)
	}

	parts := strings.Split(p, "/")
	for _, s := range parts {
		if s == ".." {
			return ObjectRef{}, fmt.Errorf("%w: escapes its folder", ErrInvalidPath)
		}
	}
	if parts[0] != ResourcesDir {
		return ObjectRef{}, fmt.Errorf("%w: not below %s/", ErrInvalidPath, ResourcesDir)
	}

	var ref ObjectRef
	var file string
	switch {
	case len(parts) == 6 && parts[4] == ClusterScope:
		file = parts[5]
	case len(parts) == 7 && parts[4] == NamespacesDir:
		ref.Namespace, file = parts[5], parts[6]
	default:
		return ObjectRef{}, fmt.Errorf("%w: not resources/<group>/<version>/<resource>/"+
			"{cluster,namespaces/<namespace>}/<name>.json", ErrInvalidPath)
	}
	name, ok := strings.CutSuffix(file, ObjectExt)
	if !ok {
		return ObjectRef{}, fmt.Errorf("%w: does not end in %s", ErrInvalidPath, ObjectExt)
	}
	ref.Group, ref.Version, ref.Resource, ref.Name = parts[1], parts[2], parts[3], name
	if ref.Group == CoreGroup {
		ref.Group = ""
	}

	if err := ref.Validate(); err != nil {
		return ObjectRef{}, fmt.Errorf("%w: %w", ErrInvalidPath, err)
	}
	return ref, nil
}
