package backup

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestSplitItems(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
		err  string
	}{
		{name: "no items", body: `{"kind":"List","metadata":{}}`},
		{name: "empty items", body: `{"items":[],"metadata":{"continue":""}}`},
		{name: "null items", body: `{"items":null}`},
		{name: "empty list object", body: ` { } `},
		{
			name: "items after metadata",
			body: `{"kind":"ConfigMapList","metadata":{"resourceVersion":"5"},` +
				`"items":[{"a":1},{"b":[2,{"c":"]}"}]}]}`,
			want: []string{`{"a":1}`, `{"b":[2,{"c":"]}"}]}`},
		},
		{
			name: "escapes in strings",
			body: `{"items":[{"s":"a\"}b"},{"s":"c\\"},{"s":"d\\\"e"},{"s":"\u00e9\n"}]}`,
			want: []string{`{"s":"a\"}b"}`, `{"s":"c\\"}`, `{"s":"d\\\"e"}`, `{"s":"\u00e9\n"}`},
		},
		{
			name: "spaces everywhere",
			body: "{ \"items\" : [ {\"a\" : true} ,\n\t{\"b\":null} ] , \"x\" : -1.5e3 }",
			want: []string{`{"a" : true}`, `{"b":null}`},
		},
		{
			name: "an items member that is not the list's",
			body: `{"metadata":{"items":[{"no":1}]},"items":[{"yes":1}]}`,
			want: []string{`{"yes":1}`},
		},
		{name: "not an object", body: `[{"a":1}]`, err: "not a JSON object"},
		{name: "cut in an item", body: `{"items":[{"a":"b`, err: "ends early"},
		{name: "cut after an item", body: `{"items":[{"a":1}`, err: "ends early"},
		{name: "missing comma", body: `{"items":[{"a":1} {"b":2}]}`, err: "want ',' or ']'"},
		{name: "missing colon", body: `{"items" [{"a":1}]}`, err: "want ':'"},
		{name: "bare word as name", body: `{items:[]}`, err: "want a member name"},
		{name: "empty value", body: `{"items":[,]}`, err: "want a value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			err := splitItems([]byte(tt.body), func(b []byte) error {
				got = append(got, string(b))
				return nil
			})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("items\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// FuzzSplitItems checks the split against encoding/json on every list that
// encoding/json accepts: the same items, byte for byte.
func FuzzSplitItems(f *testing.F) {
	f.Add([]byte(`{"items":[{"a":"x\\\"y"},[1,2],"s",3,null]}`))
	f.Add([]byte(`{"metadata":{"continue":"e30"},"items":[{"metadata":{"name":"n"}}]}`))
	f.Add(configMapPage(2))
	f.Fuzz(func(t *testing.T, body []byte) {
		var members map[string]json.RawMessage
		if json.Unmarshal(body, &members) != nil || members == nil ||
			bytes.Count(body, []byte(`"items"`)) > 1 || bytes.Contains(body, []byte(`\u`)) {
			return // not an object, or names the split and a map may read apart
		}
		var list struct{ Items []json.RawMessage }
		if json.Unmarshal(members["items"], &list.Items) != nil {
			list.Items = nil // items that are not an array are not read
		}
		var got [][]byte
		if err := splitItems(body, func(b []byte) error {
			got = append(got, b)
			return nil
		}); err != nil {
			t.Fatalf("split of a valid list: %v", err)
		}
		if len(got) != len(list.Items) {
			t.Fatalf("%d items, encoding/json found %d", len(got), len(list.Items))
		}
		for i := range got {
			if !bytes.Equal(got[i], list.Items[i]) {
				t.Errorf("item %d is %q, encoding/json found %q", i, got[i], list.Items[i])
			}
		}
	})
}
