package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	jsoniter "github.com/json-iterator/go"
	"github.com/valyala/fastjson"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	"github.com/cairn-backup/cairn/internal/cluster"
)

// item is one object of a list page, kept as the server's bytes, with the
// fields cairn decides on decoded beside it.
type item struct {
	data []byte
	head itemHead
}

// itemHead is what readHead takes from an object: apiVersion, kind and
// the metadata fields of the same names.
type itemHead struct {
	APIVersion string
	Kind       string
	Metadata   struct {
		Name              string
		Namespace         string
		Labels            map[string]string
		DeletionTimestamp *string
	}
}

// listMeta is the metadata of one list response.
type listMeta struct {
	resourceVersion string
	cont            string
	// remaining is the server's count of the objects after this page, or
	// -1 when it gave none.
	remaining int64
}

// lister reads one type page by page.
type lister struct {
	c        *cluster.Cluster
	res      cluster.Resource
	pageSize int64
	// typeHead is `{"apiVersion":...,"kind":...,`, put before the members
	// of items that come without them.
	typeHead []byte
	// cutAfterFirst, when set, is asked on the first page's metadata
	// whether to end the list after that page; see listAt.
	cutAfterFirst func(listMeta) bool
	// prefetch is how many pages are read ahead; 0 means prefetchPages.
	prefetch int
}

// namespaceLister reads Namespaces.
func namespaceLister(c *cluster.Cluster, pageSize int64) *lister {
	l := &lister{c: c, pageSize: pageSize}
	l.res.Version, l.res.Resource, l.res.Kind = "v1", "namespaces", "Namespace"
	return l
}

// listAt lists the type in one namespace ("" for all) and calls fn for
// every item, page by page. With rv set, every page is read at exactly that
// revision; otherwise at the latest, and the revision read is returned.
// A compacted rv fails with an error apierrors.IsResourceExpired accepts.
// Items whose key sorts at or before after are skipped: a re-read after
// compaction resumes where the first read stopped, since lists come in key
// order. The next pages are read while fn handles this one: the reader
// decodes only a page's metadata, so the chain of requests, which bounds a
// list of one type, waits on the API server alone. When cutAfterFirst says
// so on the first page, the list ends after it with cut set; no later page
// is requested.
func (l *lister) listAt(ctx context.Context, namespace, rv, after string,
	fn func(item) error) (readRV string, cut bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prefetch := l.prefetch
	if prefetch <= 0 {
		prefetch = prefetchPages
	}
	pages := make(chan fetched, prefetch)
	go l.fetch(ctx, namespace, rv, pages)
	for f := range pages {
		if f.err != nil {
			return "", false, f.err
		}
		if readRV == "" {
			readRV = f.meta.resourceVersion
		}
		var itemErr error // an item's own failure, not the page's
		err := splitItems(f.body, func(raw []byte) error {
			it, err := l.item(raw)
			if err == nil && (after == "" ||
				key(it.head.Metadata.Namespace, it.head.Metadata.Name) > after) {
				err = fn(it)
			}
			itemErr = err
			return err
		})
		switch {
		case itemErr != nil:
			return "", false, itemErr
		case err != nil:
			return "", false, fmt.Errorf("decode list of %s: %w", l.res, err)
		}
		if f.cut {
			return readRV, true, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	return readRV, false, nil
}

// latestRevision reads the first page of the type, of pageSize objects,
// and returns the revision it was read at: the latest the server has. One
// request, whatever the number of objects.
func (l *lister) latestRevision(ctx context.Context) (string, error) {
	body, err := l.request(namespaceAll, "", "").Do(ctx).Raw()
	if err != nil {
		return "", err
	}
	m, err := l.parseMeta(body)
	if err != nil {
		return "", err
	}
	if m.resourceVersion == "" {
		return "", fmt.Errorf("the list of %s has no resourceVersion", l.res)
	}
	return m.resourceVersion, nil
}

// namespaceAll lists a type in every namespace.
const namespaceAll = ""

// prefetchPages is how many pages a list reads ahead of the archive.
const prefetchPages = 4

// fetched is one page read, or the error that ended the list.
type fetched struct {
	body []byte
	meta listMeta
	err  error
	cut  bool // cutAfterFirst ended the list after this page
}

// fetch reads the pages of a list into out, in order, and closes it after
// the last page, an error, or when ctx ends.
func (l *lister) fetch(ctx context.Context, namespace, rv string, out chan<- fetched) {
	defer close(out)
	cont := ""
	for first := true; ; first = false {
		var f fetched
		body, err := l.request(namespace, rv, cont).Do(ctx).Raw()
		if err != nil {
			f.err = err
		} else {
			f.body = body
			f.meta, f.err = l.parseMeta(body)
		}
		f.cut = first && f.err == nil && f.meta.cont != "" && l.cutAfterFirst != nil &&
			l.cutAfterFirst(f.meta)
		select {
		case out <- f:
		case <-ctx.Done():
			return
		}
		if f.err != nil || f.meta.cont == "" || f.cut {
			return
		}
		cont = f.meta.cont
	}
}

// request is the list request of one page: the next after cont, or the
// first, at exactly rv when set, else at the latest revision.
func (l *lister) request(namespace, rv, cont string) *rest.Request {
	req := l.c.Discovery.RESTClient().Get().AbsPath(l.path(namespace)).
		SetHeader("Accept", "application/json").
		Param("limit", strconv.FormatInt(l.pageSize, 10))
	switch {
	case cont != "":
		req = req.Param("continue", cont)
	case rv != "":
		req = req.Param("resourceVersion", rv).Param("resourceVersionMatch", "Exact")
	}
	return req
}

// key orders objects the way the API server's storage lists them.
func key(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

func (l *lister) path(namespace string) string {
	base := "/apis/" + l.res.Group + "/" + l.res.Version
	if l.res.Group == "" {
		base = "/api/" + l.res.Version
	}
	if namespace != "" {
		base += "/namespaces/" + namespace
	}
	return base + "/" + l.res.Resource
}

// A page's metadata and each item's head are read with an iterator, and
// items are split from the page without a copy (split.go): decoding them
// into values with encoding/json took most of a backup's CPU (see
// BenchmarkBackup and BenchmarkPage), which on a small control plane the
// API server needs to serve the list.
var listJSON = jsoniter.ConfigCompatibleWithStandardLibrary

// errMetaRead ends a read of a list response once its metadata, which the
// API server writes before the items, is read.
var errMetaRead = errors.New("metadata read")

// parseMeta reads a list response's metadata.
func (l *lister) parseMeta(body []byte) (listMeta, error) {
	m := listMeta{remaining: -1}
	err := l.readList(body, func(it *jsoniter.Iterator, field string) error {
		if field != "metadata" {
			it.Skip()
			return nil
		}
		it.ReadObjectCB(func(it *jsoniter.Iterator, field string) bool {
			switch field {
			case "resourceVersion":
				m.resourceVersion = it.ReadString()
			case "continue":
				m.cont = it.ReadString()
			case "remainingItemCount":
				m.remaining = it.ReadInt64()
			default:
				it.Skip()
			}
			return true
		})
		if it.Error != nil {
			return nil // readList reports it
		}
		return errMetaRead
	})
	if errors.Is(err, errMetaRead) {
		err = nil
	}
	return m, err
}

// readList calls fn for each member of a list response; fn reads or skips
// the member's value.
func (l *lister) readList(body []byte, fn func(*jsoniter.Iterator, string) error) error {
	it := listJSON.BorrowIterator(body)
	defer listJSON.ReturnIterator(it)
	var err error
	it.ReadObjectCB(func(it *jsoniter.Iterator, field string) bool {
		err = fn(it, field)
		return err == nil
	})
	if err != nil {
		return err
	}
	if it.Error != nil {
		return fmt.Errorf("decode list of %s: %w", l.res, it.Error)
	}
	return nil
}

// item decodes the fields of one list item, whose bytes are part of a page
// and copied only when changed. Items of built-in types come
// without apiVersion and kind in lists; they are added so that every stored
// document stands on its own.
func (l *lister) item(raw []byte) (item, error) {
	it := item{data: raw}
	if err := readHead(raw, &it.head); err != nil {
		return it, fmt.Errorf("decode %s item: %w", l.res, err)
	}
	if it.head.APIVersion == "" && it.head.Kind == "" {
		gv := l.res.GroupVersion().String()
		if l.typeHead == nil {
			l.typeHead = fmt.Appendf(nil, `{"apiVersion":%q,"kind":%q,`, gv, l.res.Kind)
		}
		body := bytes.TrimLeft(raw, " \t\r\n")[1:]
		it.data = append(append(make([]byte, 0, len(l.typeHead)+len(body)), l.typeHead...), body...)
		it.head.APIVersion, it.head.Kind = gv, l.res.Kind
	}
	return it, nil
}

// headParsers parse items for readHead. A parser keeps its buffers between
// items and, unlike an iterator, reads keys without allocating them.
var headParsers fastjson.ParserPool

// readHead reads the fields of itemHead from one object. An object the
// parser cannot read (bad JSON, a field of the wrong type, or nesting deeper
// than its limit of fastjson.MaxDepth) is read again with encoding/json,
// which reads what the API server accepts and explains what it refuses.
func readHead(raw []byte, h *itemHead) error {
	p := headParsers.Get()
	ok := parseHead(p, raw, h)
	headParsers.Put(p)
	if ok {
		return nil
	}
	*h = itemHead{}
	return json.Unmarshal(raw, h)
}

// parseHead reads the head with p, reporting false for what p cannot read
// and for fields of the wrong type.
func parseHead(p *fastjson.Parser, raw []byte, h *itemHead) bool {
	v, err := p.ParseBytes(raw)
	if err != nil {
		return false
	}
	o, err := v.Object()
	if err != nil {
		return false
	}
	var ok bool
	if h.APIVersion, ok = stringField(o, "apiVersion"); !ok {
		return false
	}
	if h.Kind, ok = stringField(o, "kind"); !ok {
		return false
	}
	md := o.Get("metadata")
	if md == nil || md.Type() == fastjson.TypeNull {
		return true
	}
	if o, err = md.Object(); err != nil {
		return false
	}
	m := &h.Metadata
	if m.Name, ok = stringField(o, "name"); !ok {
		return false
	}
	if m.Namespace, ok = stringField(o, "namespace"); !ok {
		return false
	}
	if m.Labels, ok = labelsField(o); !ok {
		return false
	}
	if ts := o.Get("deletionTimestamp"); ts != nil && ts.Type() != fastjson.TypeNull {
		s, ok := stringField(o, "deletionTimestamp")
		m.DeletionTimestamp = &s
		return ok
	}
	return true
}

// stringField returns the string member key of o, "" when it is absent or
// null, and false when it is something else.
func stringField(o *fastjson.Object, key string) (string, bool) {
	v := o.Get(key)
	if v == nil || v.Type() == fastjson.TypeNull {
		return "", true
	}
	b, err := v.StringBytes()
	return string(b), err == nil
}

func labelsField(o *fastjson.Object) (map[string]string, bool) {
	v := o.Get("labels")
	if v == nil || v.Type() == fastjson.TypeNull {
		return nil, true
	}
	lo, err := v.Object()
	if err != nil {
		return nil, false
	}
	labels := make(map[string]string, lo.Len())
	ok := true
	lo.Visit(func(k []byte, v *fastjson.Value) {
		b, err := v.StringBytes()
		ok = ok && err == nil
		labels[string(k)] = string(b)
	})
	return labels, ok
}

// expired reports whether a list failed because its revision was
// compacted.
func expired(err error) bool {
	return apierrors.IsResourceExpired(err) || apierrors.IsGone(err)
}
