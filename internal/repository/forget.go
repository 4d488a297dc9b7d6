package repository

import (
	"slices"
	"time"
)

// Policy says which snapshots forget keeps. A snapshot is kept when any rule
// keeps it; an empty policy keeps everything.
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
