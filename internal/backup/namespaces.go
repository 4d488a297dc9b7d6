package backup

import (
	"context"
	"fmt"
	"sync"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/selection"
)

// A backup of --include-namespaces entries that name no namespace is empty
// and would say nothing: a typo looks like an application with no objects.
// The names of the Namespaces are therefore noted as the backup lists them,
// and each entry that matched none is a warning of the backup, which still
// completes.

// includeCheck notes which --include-namespaces entries matched the name of
// a Namespace. It is safe for concurrent use.
type includeCheck struct {
	mu      sync.Mutex
	entries []string
	matched []bool
	// whole is set once the Namespaces were read to the end.
	whole bool
}

func newIncludeCheck(entries []string) *includeCheck {
	return &includeCheck{entries: entries, matched: make([]bool, len(entries))}
}

// see notes the name of a Namespace the cluster has.
func (c *includeCheck) see(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, p := range c.entries {
		if !c.matched[i] {
			c.matched[i] = selection.MatchPattern(p, name)
		}
	}
}

func (c *includeCheck) setWhole() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.whole = true
}

func (c *includeCheck) readWhole() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.whole
}

// unmatched returns the entries that matched no Namespace seen.
func (c *includeCheck) unmatched() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for i, p := range c.entries {
		if !c.matched[i] {
			out = append(out, p)
		}
	}
	return out
}

// warnUnmatchedNamespaces records a warning for each --include-namespaces
// entry that matched no Namespace. The names come from the list of
// Namespaces the backup read; when it read none, or not to the end, they
// are read here at the snapshot revision. Only the end of ctx is returned:
// when the names cannot be read, no entry is known to match nothing.
func (b *run) warnUnmatchedNamespaces(ctx context.Context) error {
	c := b.includes
	if len(c.entries) == 0 {
		return nil
	}
	if !c.readWhole() {
		if err := b.readNamespaceNames(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			b.log.Warn("namespaces not read; --include-namespaces not checked",
				"error", err)
			return nil
		}
	}
	for _, p := range c.unmatched() {
		reason := fmt.Sprintf("--include-namespaces %q: matched no namespace", p)
		if selection.Literal(p) {
			reason = fmt.Sprintf("--include-namespaces %q: no namespace of that name", p)
		}
		b.log.Warn("--include-namespaces entry matched no namespace", "entry", p)
		b.warn(archive.Problem{Resource: grNamespaces, Action: "select", Reason: reason})
	}
	return nil
}

// readNamespaceNames lists the Namespaces into b.includes: at the snapshot
// revision, or at the latest when it was compacted.
func (b *run) readNamespaceNames(ctx context.Context) error {
	l := namespaceLister(b.req.Cluster, b.req.PageSize)
	see := func(it item) error {
		b.includes.see(it.head.Metadata.Name)
		return nil
	}
	_, _, err := l.listAt(ctx, namespaceAll, b.manifest.ResourceVersion, "", see)
	if err != nil && expired(err) {
		_, _, err = l.listAt(ctx, namespaceAll, "", "", see)
	}
	return err
}
