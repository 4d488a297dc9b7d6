package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/cairn-backup/cairn/internal/cluster"
)

// item is one object of a list page, kept as the server's bytes, with the
// fields cairn decides on decoded beside it.
type item struct {
	data []byte
	head itemHead
}

type itemHead struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name              string            `json:"name"`
		Namespace         string            `json:"namespace"`
		Labels            map[string]string `json:"labels"`
		DeletionTimestamp *string           `json:"deletionTimestamp"`
	} `json:"metadata"`
}

type listPage struct {
	Metadata struct {
		ResourceVersion string `json:"resourceVersion"`
		Continue        string `json:"continue"`
	} `json:"metadata"`
	Items []json.RawMessage `json:"items"`
}

// lister reads one type page by page.
type lister struct {
	c        *cluster.Cluster
	res      cluster.Resource
	pageSize int64
}

// listAt lists the type in one namespace ("" for all) and calls fn for
// every item, page by page. With rv set, every page is read at exactly that
// revision; otherwise at the latest, and the revision read is returned.
// A compacted rv fails with an error apierrors.IsResourceExpired accepts.
// Items whose key sorts at or before after are skipped: a re-read after
// compaction resumes where the first read stopped, since lists come in key
// order. The next page is read while fn handles this one.
func (l *lister) listAt(ctx context.Context, namespace, rv, after string,
	fn func(item) error) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan fetched, 1)
	go l.fetch(ctx, namespace, rv, pages)
	var readRV string
	for f := range pages {
		if f.err != nil {
			return "", f.err
		}
		if readRV == "" {
			readRV = f.page.Metadata.ResourceVersion
		}
		for _, raw := range f.page.Items {
			it, err := l.item(raw)
			if err != nil {
				return "", err
			}
			if after != "" && key(it.head.Metadata.Namespace, it.head.Metadata.Name) <= after {
				continue
			}
			if err := fn(it); err != nil {
				return "", err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return readRV, nil
}

// fetched is one page read, or the error that ended the list.
type fetched struct {
	page listPage
	err  error
}

// fetch reads the pages of a list into out, in order, and closes it after
// the last page, an error, or when ctx ends.
func (l *lister) fetch(ctx context.Context, namespace, rv string, out chan<- fetched) {
	defer close(out)
	path := l.path(namespace)
	cont := ""
	for {
		req := l.c.Discovery.RESTClient().Get().AbsPath(path).
			SetHeader("Accept", "application/json").
			Param("limit", strconv.FormatInt(l.pageSize, 10))
		switch {
		case cont != "":
			req = req.Param("continue", cont)
		case rv != "":
			req = req.Param("resourceVersion", rv).Param("resourceVersionMatch", "Exact")
		}
		var f fetched
		body, err := req.Do(ctx).Raw()
		if err != nil {
			f.err = err
		} else if err := json.Unmarshal(body, &f.page); err != nil {
			f.err = fmt.Errorf("decode list of %s: %w", l.res, err)
		}
		select {
		case out <- f:
		case <-ctx.Done():
			return
		}
		if f.err != nil || f.page.Metadata.Continue == "" {
			return
		}
		cont = f.page.Metadata.Continue
	}
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

// item decodes the fields of one list item. Items of built-in types come
// without apiVersion and kind in lists; they are added so that every stored
// document stands on its own.
func (l *lister) item(raw json.RawMessage) (item, error) {
	var it item
	if err := json.Unmarshal(raw, &it.head); err != nil {
		return it, fmt.Errorf("decode %s item: %w", l.res, err)
	}
	it.data = raw
	if it.head.APIVersion == "" && it.head.Kind == "" {
		gv := l.res.Version
		if l.res.Group != "" {
			gv = l.res.Group + "/" + gv
		}
		head := fmt.Sprintf(`{"apiVersion":%q,"kind":%q,`, gv, l.res.Kind)
		body := bytes.TrimLeft(raw, " \t\r\n")[1:]
		it.data = append([]byte(head), body...)
		it.head.APIVersion, it.head.Kind = gv, l.res.Kind
	}
	return it, nil
}

// expired reports whether a list failed because its revision was
// compacted.
func expired(err error) bool {
	return apierrors.IsResourceExpired(err) || apierrors.IsGone(err)
}
