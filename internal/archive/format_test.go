package archive

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// deletingOracle is objectDeleting as encoding/json reads data, less the
// one check objectDeleting leaves out: raw control characters in strings.
func deletingOracle(data []byte) (deleting, ok bool) {
	data = bytes.Map(func(r rune) rune { return max(r, ' ') }, data)
	if !json.Valid(data) || !bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{")) {
		return false, false
	}
	var doc, md map[string]json.RawMessage
	if json.Unmarshal(data, &doc) != nil || json.Unmarshal(doc["metadata"], &md) != nil {
		return false, true
	}
	ts, set := md["deletionTimestamp"]
	return set && string(ts) != "null", true
}

func nested(depth int, inner string) string {
	return strings.Repeat(`{"a":`, depth) + inner + strings.Repeat(`}`, depth)
}

var objectSeeds = []string{
	`{"metadata":{"name":"a"}}`,
	`{"metadata":{"name":"a","deletionTimestamp":"2026-12-04T10:00:00Z"}}`,
	`{"metadata":{"deletionTimestamp":null}}`,
	`{"metadata":"x","spec":{"metadata":{"deletionTimestamp":"t"}}}`,
	`{"Metadata":{"deletionTimestamp":"t"}}`,
	`{"metadata":{"deletion\u0054imestamp":"t"}}`,
	`{"data":{"deletionTimestamp":"t"},"metadata":{}}`,
	`{"spec":` + nested(1000, `1`) + `,"metadata":{"deletionTimestamp":"t"}}`,
	`{"spec":` + nested(1000, `1`) + `}`,
	` {"a":[1,-2.5e3,true,false,null,"\u00e9\n\"\\"]} `,
	`["not an object"]`,
	`null`,
	`{"a":1} {"b":2}`,
	`{"a":"unterminated}`,
	"{\"a\":\"raw\tcontrol\"}",
	"{\"a\":[\"\\b\x00\"]}",
	`{"a":"bad \q escape"}`,
	`{"a":01}`,
	`{"a":1.}`,
	`{"a":-}`,
	`{"a":1,}`,
	``,
}

func TestObjectDeleting(t *testing.T) {
	for _, s := range objectSeeds {
		checkObjectDeleting(t, []byte(s))
	}
}

func FuzzObjectDeleting(f *testing.F) {
	for _, s := range objectSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkObjectDeleting)
}

func checkObjectDeleting(t *testing.T, data []byte) {
	got, err := objectDeleting(data)
	want, ok := deletingOracle(data)
	// A raw control character in a string may be refused or let through.
	controls := bytes.ContainsFunc(data, func(r rune) bool { return r < ' ' })
	switch {
	case ok != (err == nil) && (!controls || err == nil):
		t.Errorf("%.80q: error %v, encoding/json reads it: %t", data, err, ok)
	case err != nil && !errors.Is(err, ErrInvalidObject):
		t.Errorf("%.80q: error %v is not ErrInvalidObject", data, err)
	case err == nil && got != want:
		t.Errorf("%.80q: deleting %t, encoding/json says %t", data, got, want)
	}
}

// Index lines are JSON that encoding/json reads back to the same entry,
// whatever the characters of the names.
func TestIndexEntryJSON(t *testing.T) {
	names := []string{"web", `<a&b>`, `q"uo\te`, "é\u2028\u2029ü", "tab\there", "日本"}
	for _, name := range names {
		e := IndexEntry{Ref: ObjectRef{"example.test", "v1", "widgets", "ns", name},
			Size: 3, SHA256: strings.Repeat("ab", 32), Deleting: name == "web"}
		e.Path = e.Ref.Path()
		line, err := e.MarshalJSON()
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		var l indexLine
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatalf("%q: line %s is not JSON: %v", name, line, err)
		}
		var back IndexEntry
		if err := back.UnmarshalJSON(line); err != nil || back != e {
			t.Errorf("%q: line %s reads back as %+v (%v)", name, line, back, err)
		}
		if bytes.ContainsAny(line, "\n") {
			t.Errorf("%q: line %q has a newline", name, line)
		}
	}
}
