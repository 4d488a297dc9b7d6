package backup

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/cairn-backup/cairn/internal/archive"
)

// A list of one type is a chain of requests, each waiting for the one
// before: on a large type it is bounded by the API server's latency, not
// its capacity. A namespaced type with many objects is therefore read
// namespace by namespace, several chains at once, all at the snapshot
// revision. Whether it has many objects is learned from the first page of
// its list across all namespaces, which gives the server's count of the
// objects after it (remainingItemCount).

// The chains of namespaces read ahead one page each, not prefetchPages:
// they are many at once, and their pages are what a backup holds in
// memory. At most half of Workers of them run at once in a backup,
// whatever the number of large types, beside the Workers types listed at
// once.
const fanOutPrefetch = 1

// fanOutMinPages is how many pages must remain after the first before a
// type is read namespace by namespace.
const fanOutMinPages = 2

// typeState is what the chains of one type share.
type typeState struct {
	count atomic.Int64

	mu   sync.Mutex
	rv   string // the revision to read at; "" for the latest
	info archive.TypeInfo
}

func (ts *typeState) revision() string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.rv
}

// goFresh reads the rest of the type at the latest revision.
func (ts *typeState) goFresh(reason string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.rv, ts.info.Consistency, ts.info.Reason = "", archive.ConsistencyFresh, reason
}

// read records the revision a chain was read at.
func (ts *typeState) read(readRV string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.info.ResourceVersion = readRV
	if ts.rv != "" {
		ts.info.ResourceVersion = ts.rv
	}
}

func (ts *typeState) done() archive.TypeInfo {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	info := ts.info
	info.Count = int(ts.count.Load())
	return info
}

// listAll lists a type in every namespace: one chain, or for a large
// namespaced type, its first page and then one chain per namespace.
func (b *run) listAll(ctx context.Context, aw *archive.Writer, t listType, ts *typeState) error {
	var namespaces []string
	worth := func(m listMeta) bool {
		if !t.Namespaced || m.remaining < fanOutMinPages*b.req.PageSize {
			return false
		}
		ns, err := b.snapshotNamespaces(ctx)
		if err != nil {
			b.log.Debug("namespaces not read; listing in one chain",
				"resource", t.String(), "error", err)
			return false
		}
		// Each namespace costs a request at least; a chain costs one per
		// page, of which Workers run at once.
		namespaces = ns
		return len(ns) > 1 && int64(len(ns)) <= int64(b.req.Workers)*m.remaining/b.req.PageSize
	}
	last, cut, err := b.listChain(ctx, aw, t, ts, chain{cutAfterFirst: worth})
	if err != nil || !cut {
		return err
	}
	b.log.Debug("listing namespace by namespace", "resource", t.String(),
		"namespaces", len(namespaces))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.req.Workers)
	for _, ns := range namespacesLeft(namespaces, last) {
		after := "" // only the namespace last is in was read in part
		if strings.HasPrefix(last, ns+"/") {
			after = last
		}
		g.Go(func() error {
			select {
			case b.fanSlots <- struct{}{}:
				defer func() { <-b.fanSlots }()
			case <-gctx.Done():
				return gctx.Err()
			}
			_, _, err := b.listChain(gctx, aw, t, ts,
				chain{namespace: ns, after: after, prefetch: fanOutPrefetch})
			return err
		})
	}
	return g.Wait()
}

// namespacesLeft returns the namespaces that hold keys after last. Lists
// come in key order, namespace/name, so a first page read every key up to
// its last: a namespace whose keys all sort before it is done, and the one
// last is in is read after it.
func namespacesLeft(namespaces []string, last string) []string {
	var left []string
	for _, ns := range namespaces {
		if ns+"0" > last { // '0' follows '/': above every key in ns
			left = append(left, ns)
		}
	}
	return left
}

// snapshotNamespaces returns the names of the namespaces the backup
// selects, as they were at the snapshot revision, read once per backup.
func (b *run) snapshotNamespaces(ctx context.Context) ([]string, error) {
	b.nsOnce.Do(func() {
		l := namespaceLister(b.req.Cluster, b.req.PageSize)
		_, _, b.nsErr = l.listAt(ctx, namespaceAll, b.manifest.ResourceVersion, "",
			func(it item) error {
				if name := it.head.Metadata.Name; b.sel.namespaces.Match(name) {
					b.nsNames = append(b.nsNames, name)
				}
				return nil
			})
		slices.Sort(b.nsNames)
	})
	return b.nsNames, b.nsErr
}
