package backup

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// deepObject is an object whose spec nests depth objects.
func deepObject(depth int) string {
	return `{"metadata":{"name":"deep"},"spec":` + strings.Repeat(`{"a":`, depth) + `1` +
		strings.Repeat(`}`, depth) + `}`
}

func TestReadHead(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		err  string // empty: the head equals encoding/json's decoding of raw
	}{
		{name: "built-in item", raw: `{"metadata":{"name":"a","namespace":"ns",` +
			`"labels":{"app":"x","tier":""},"managedFields":[{"f":{"g":{}}}]},"data":{"k":"v"}}`},
		{name: "custom resource", raw: `{"apiVersion":"example.test/v1","kind":"Widget",` +
			`"metadata":{"name":"w","namespace":"ns"},"spec":{"size":3}}`},
		{name: "metadata last", raw: `{"spec":{"metadata":{"name":"inner"}},"kind":"K",` +
			`"metadata":{"name":"outer"}}`},
		{name: "escapes", raw: `{"metadata":{"name":"a\u002db","labels":{"k\"q":"\u00e9\n"}}}`},
		{name: "deleting", raw: `{"metadata":{"name":"a",` +
			`"deletionTimestamp":"2026-12-04T10:00:00Z","finalizers":["x"]}}`},
		{name: "nulls", raw: `{"apiVersion":null,"metadata":{"name":"a","namespace":null,` +
			`"labels":null,"deletionTimestamp":null}}`},
		{name: "null metadata", raw: `{"kind":"K","metadata":null}`},
		{name: "no metadata", raw: `{"kind":"K"}`},
		{name: "spaces", raw: " {\n \"metadata\" : { \"name\" : \"a\" } } "},
		{name: "nested deeper than most parsers read", raw: deepObject(5000)},
		{name: "not an object", raw: `["a"]`, err: "array"},
		{name: "name not a string", raw: `{"metadata":{"name":5}}`, err: "Name"},
		{name: "label not a string", raw: `{"metadata":{"labels":{"a":1}}}`, err: "Labels"},
		{name: "metadata not an object", raw: `{"metadata":"x"}`, err: "Metadata"},
		{name: "truncated", raw: `{"metadata":{"name":"a"}`, err: "end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got itemHead
			err := readHead([]byte(tt.raw), &got)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("readHead error %v, want one naming %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("readHead: %v", err)
			}
			var want itemHead
			if err := json.Unmarshal([]byte(tt.raw), &want); err != nil {
				t.Fatalf("encoding/json: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("readHead read %+v, encoding/json %+v", got, want)
			}
		})
	}
}
