package archive

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/valyala/fastjson"
)

const (
	// FormatVersion is the archive and manifest format this package writes,
	// and the only one it reads.
	FormatVersion = 1

	// FormatName identifies cairn backup archives in the format entry.
	FormatName = "cairn.backup"

	// FormatEntry is the name of the first entry of every archive.
	FormatEntry = "cairn-backup.json"

	// IndexEntryName is the name of the last entry of every archive.
	IndexEntryName = "index.jsonl"

	// MaxObjectSize bounds one object's data. The API server's own request
	// limit is far lower; the bound keeps a damaged or hostile archive from
	// making a reader allocate without limit.
	MaxObjectSize = 64 << 20

	// maxFormatEntrySize bounds the format entry a reader accepts.
	maxFormatEntrySize = 4096

	// entryMode is the permission of every entry: readable by all, so that
	// an archive unpacked by tar behaves the same for every user.
	entryMode = 0o644
)

// formatDoc is the content of the format entry.
type formatDoc struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
}

func formatEntryData() []byte {
	data, err := json.Marshal(formatDoc{Format: FormatName, Version: FormatVersion})
	if err != nil {
		panic(err) // a fixed struct of a string and an int always marshals
	}
	return append(data, '\n')
}

// checkFormatEntry reads the format entry's content and returns the
// version, or a Defect of kind DefectNotArchive or DefectVersion.
func checkFormatEntry(data []byte) (int, error) {
	var doc formatDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return 0, Defect{Path: FormatEntry, Kind: DefectNotArchive,
			Detail: fmt.Sprintf("not JSON: %v", err)}
	}
	if doc.Format != FormatName {
		return 0, Defect{Path: FormatEntry, Kind: DefectNotArchive,
			Detail: fmt.Sprintf("format is %q, want %q", doc.Format, FormatName)}
	}
	if doc.Version != FormatVersion {
		return doc.Version, Defect{Kind: DefectVersion, Detail: fmt.Sprintf(
			"archive format version %d; this cairn reads version %d only",
			doc.Version, FormatVersion)}
	}
	return doc.Version, nil
}

// entryHeader is the tar header of every entry: the same fields for the
// same input, so that archives are reproducible. Leaving Format unset lets
// archive/tar pick USTAR and fall back to PAX only for long or non-ASCII
// names.
func entryHeader(name string, size int64, modTime time.Time) *tar.Header {
	return &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Size:     size,
		Mode:     entryMode,
		ModTime:  modTime,
	}
}

// objectParsers read objects for objectDeleting: a backup checks every
// object it writes, and a restore every object it reads.
var objectParsers fastjson.ParserPool

// objectDeleting checks that data is one JSON object and reports whether
// its metadata.deletionTimestamp is set. This is the one piece of
// Kubernetes the format knows: the index comes last, so a reader learns
// whether an object was being deleted from the object itself.
func objectDeleting(data []byte) (bool, error) {
	if err := fastjson.ValidateBytes(data); err != nil {
		return false, fmt.Errorf("%w: data is not valid JSON: %w", ErrInvalidObject, err)
	}
	// Most objects name no deletionTimestamp, even escaped: they need no
	// parse past their first byte.
	if !bytes.Contains(data, deletionKey) && !bytes.Contains(data, []byte(`\u`)) {
		if data[skipSpace(data)] != '{' {
			return false, errNotObject
		}
		return false, nil
	}
	p := objectParsers.Get()
	defer objectParsers.Put(p)
	v, err := p.ParseBytes(data)
	if err != nil {
		// Valid, so nested deeper than the parser reads.
		return deepObjectDeleting(data)
	}
	if v.Type() != fastjson.TypeObject {
		return false, errNotObject
	}
	ts := v.Get("metadata", "deletionTimestamp")
	return ts != nil && ts.Type() != fastjson.TypeNull, nil
}

var deletionKey = []byte(`"deletionTimestamp"`)

// skipSpace returns the index of the first byte of data that is not JSON
// white space.
func skipSpace(data []byte) int {
	return len(data) - len(bytes.TrimLeft(data, " \t\r\n"))
}

var errNotObject = fmt.Errorf("%w: data is not a JSON object", ErrInvalidObject)

// deepObjectDeleting is objectDeleting for valid JSON nested deeper than
// fastjson.MaxDepth.
func deepObjectDeleting(data []byte) (bool, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil || doc == nil {
		return false, errNotObject
	}
	var md map[string]json.RawMessage
	if json.Unmarshal(doc["metadata"], &md) != nil {
		return false, nil
	}
	ts, ok := md["deletionTimestamp"]
	return ok && string(ts) != "null", nil
}

// checkObject validates an object before it is written.
func checkObject(obj Object) error {
	if len(obj.Data) > MaxObjectSize {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidObject,
			len(obj.Data), MaxObjectSize)
	}
	deleting, err := objectDeleting(obj.Data)
	if err != nil {
		return err
	}
	if deleting != obj.Deleting {
		return fmt.Errorf("%w: deleting is %t but metadata.deletionTimestamp says %t",
			ErrInvalidObject, obj.Deleting, deleting)
	}
	return nil
}
