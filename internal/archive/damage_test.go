package archive

import (
	"slices"
)

// Helpers that damage an archive's entries in the ways Verify must catch.
// Each returns a new slice and leaves its input alone.

func clone(es []entry) []entry {
	out := make([]entry, len(es))
	for i, e := range es {
		out[i] = entry{hdr: e.hdr, data: slices.Clone(e.data)}
	}
	return out
}

// replace sets the content of entry i.
func replace(es []entry, i int, data []byte) []entry {
	out := clone(es)
	out[i].data = data
	return out
}

// flip changes the case of the first letter past the middle of entry i's
// content, so that it stays valid JSON of the same size.
func flip(es []entry, i int) []entry {
	out := clone(es)
	data := out[i].data
	for j := len(data) / 2; j < len(data); j++ {
		if c := data[j] | 0x20; c >= 'a' && c <= 'z' {
			data[j] ^= 0x20
			return out
		}
	}
	panic("no letter to flip")
}

// swap exchanges the contents of entries i and j, keeping their names.
func swap(es []entry, i, j int) []entry {
	out := clone(es)
	out[i].data, out[j].data = out[j].data, out[i].data
	return out
}

// remove drops entry i.
func remove(es []entry, i int) []entry {
	return slices.Delete(clone(es), i, i+1)
}

// insert puts e before entry i.
func insert(es []entry, i int, e entry) []entry {
	return slices.Insert(clone(es), i, e)
}

// named makes an entry like template with another name and content.
func named(template entry, name string, data []byte) entry {
	e := entry{hdr: template.hdr, data: data}
	e.hdr.Name = name
	return e
}
