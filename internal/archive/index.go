package archive

import (
	"encoding/json"
	"fmt"

	jsoniter "github.com/json-iterator/go"
)

// IndexEntry is one line of index.jsonl: an object entry's reference, path,
// size and SHA-256, in the order of the object entries.
type IndexEntry struct {
	// Ref is written flattened into the fields group, version, resource,
	// namespace (omitted when empty) and name.
	Ref ObjectRef
	// Path is Ref.Path(), stored so that the index can be read without
	// knowing the layout.
	Path string
	// Size is the length of the object's data in bytes.
	Size int64
	// SHA256 is the lowercase hex SHA-256 of the object's data.
	SHA256 string
	// Deleting is true when the object's metadata.deletionTimestamp was set.
	Deleting bool
}

// indexLine is the wire form of an IndexEntry; the field order here is the
// key order on disk.
type indexLine struct {
	Group     string `json:"group"`
	Version   string `json:"version"`
	Resource  string `json:"resource"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Path      string `json:"path"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	Deleting  bool   `json:"deleting,omitempty"`
}

// indexJSON encodes index lines; encoding/json took a tenth of a backup's
// CPU for them. It keeps characters such as '<' and '&' as they are, not
// escaped for HTML; references are valid UTF-8 (ObjectRef.Validate).
var indexJSON = jsoniter.Config{EscapeHTML: false}.Froze()

// MarshalJSON writes the entry with its reference flattened.
func (e IndexEntry) MarshalJSON() ([]byte, error) {
	return indexJSON.Marshal(e.line())
}

// UnmarshalJSON reads an entry written by MarshalJSON. It does not check
// the values; the readers do that with check.
func (e *IndexEntry) UnmarshalJSON(data []byte) error {
	var l indexLine
	if err := json.Unmarshal(data, &l); err != nil {
		return err
	}
	*e = IndexEntry{
		Ref: ObjectRef{
			Group: l.Group, Version: l.Version, Resource: l.Resource,
			Namespace: l.Namespace, Name: l.Name,
		},
		Path: l.Path, Size: l.Size, SHA256: l.SHA256, Deleting: l.Deleting,
	}
	return nil
}

func (e IndexEntry) line() indexLine {
	return indexLine{
		Group: e.Ref.Group, Version: e.Ref.Version, Resource: e.Ref.Resource,
		Namespace: e.Ref.Namespace, Name: e.Ref.Name,
		Path: e.Path, Size: e.Size, SHA256: e.SHA256, Deleting: e.Deleting,
	}
}

// check tells whether the entry is self-consistent: a valid reference whose
// path is the one stored, a size, and a well-formed digest.
func (e IndexEntry) check() error {
	if err := e.Ref.Validate(); err != nil {
		return err
	}
	if want := e.Ref.Path(); e.Path != want {
		return fmt.Errorf("path %q does not match its reference (%q)", e.Path, want)
	}
	if e.Size < 0 || e.Size > MaxObjectSize {
		return fmt.Errorf("size %d out of range", e.Size)
	}
	if len(e.SHA256) != 64 || !isLowerHex(e.SHA256) {
		return fmt.Errorf("sha256 %q is not 64 lowercase hex digits", e.SHA256)
	}
	return nil
}

func isLowerHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
