package repository

import (
	"slices"
	"time"
)

// Policy says which snapshots forget keeps. Its rules apply to the
// snapshots of each host and folder apart, so that KeepLast 7 keeps seven
// snapshots of every folder, never removing a folder's only snapshots for
// newer ones of another. A snapshot is kept when any rule keeps it; an
// empty policy keeps everything.
type Policy struct {
	// KeepLast keeps the newest n snapshots.
	KeepLast int `json:"keepLast,omitempty"`
	// KeepDaily keeps the newest snapshot of each of the last n days that
	// have one.
	KeepDaily int `json:"keepDaily,omitempty"`
	// KeepWithin keeps snapshots younger than this.
	KeepWithin time.Duration `json:"keepWithin,omitempty"`
}

// Empty reports whether the policy has no rule.
func (p Policy) Empty() bool { return p == Policy{} }

// Apply splits snapshots into those the policy keeps and those it removes.
// now comes from the caller so that tests control time.
func (p Policy) Apply(snaps []*Snapshot, now time.Time) (keep, remove []*Snapshot) {
	if p.Empty() {
		return snaps, nil
	}
	type source struct{ host, path string }
	groups := map[source][]*Snapshot{}
	var order []source
	for _, s := range snaps {
		k := source{s.Hostname, s.Path}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], s)
	}
	for _, k := range order {
		kg, rg := p.applyGroup(groups[k], now)
		keep, remove = append(keep, kg...), append(remove, rg...)
	}
	return keep, remove
}

// applyGroup applies the policy to the snapshots of one host and folder.
func (p Policy) applyGroup(snaps []*Snapshot, now time.Time) (keep, remove []*Snapshot) {
	newest := slices.Clone(snaps)
	slices.SortFunc(newest, func(a, b *Snapshot) int { return b.Time.Compare(a.Time) })

	days := map[string]bool{}
	for i, s := range newest {
		kept := i < p.KeepLast || (p.KeepWithin > 0 && now.Sub(s.Time) < p.KeepWithin)
		day := s.Time.Local().Format(time.DateOnly)
		if !days[day] && len(days) < p.KeepDaily {
			days[day] = true
			kept = true
		}
		if kept {
			keep = append(keep, s)
		} else {
			remove = append(remove, s)
		}
	}
	return keep, remove
}
