package server

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

// retained is one finished backup of a schedule, as retention sees it.
type retained struct {
	name string
	// at is the schedule tick that made the backup.
	at time.Time
	// ok is true for a backup that can be restored (Completed or
	// PartiallyFailed).
	ok bool
}

// keepRule keeps the newest backup of each of the newest n buckets.
type keepRule struct {
	n      *int32
	bucket func(time.Time) string
}

// expired returns the names of the backups a retention policy no longer
// keeps, oldest first. Buckets (days, ISO weeks, months) are read in tz.
//
// With no count rule set, nothing expires here (the TTL still applies).
// Otherwise a successful backup is kept when any rule keeps it: it is one
// of the newest KeepLast, or the newest of one of the newest KeepDaily
// days (KeepWeekly weeks, KeepMonthly months) that have a successful
// backup. A failed backup is kept until a later backup succeeds, so the
// reason of the last failures stays readable.
func expired(p v1alpha1.Retention, backups []retained, tz *time.Location) []string {
	rules := []keepRule{
		{p.KeepLast, func(t time.Time) string { return t.Format(time.RFC3339Nano) }},
		{p.KeepDaily, func(t time.Time) string { return t.Format(time.DateOnly) }},
		{p.KeepWeekly, func(t time.Time) string {
			y, w := t.ISOWeek()
			return fmt.Sprintf("%d-W%02d", y, w)
		}},
		{p.KeepMonthly, func(t time.Time) string { return t.Format("2006-01") }},
	}
	if !slices.ContainsFunc(rules, func(r keepRule) bool { return r.n != nil }) {
		return nil
	}

	newestFirst := slices.Clone(backups)
	slices.SortStableFunc(newestFirst, func(a, b retained) int {
		return cmp.Or(b.at.Compare(a.at), cmp.Compare(b.name, a.name))
	})
	keep := map[string]bool{}
	for _, rule := range rules {
		if rule.n == nil {
			continue
		}
		seen := map[string]bool{}
		for _, b := range newestFirst {
			if len(seen) >= int(*rule.n) {
				break
			}
			if !b.ok {
				continue
			}
			key := rule.bucket(b.at.In(tz))
			if !seen[key] {
				seen[key] = true
				keep[b.name] = true
			}
		}
	}

	var gone []string
	succeededLater := false
	for _, b := range newestFirst {
		switch {
		case b.ok && !keep[b.name]:
			gone = append(gone, b.name)
		case !b.ok && succeededLater:
			gone = append(gone, b.name)
		}
		succeededLater = succeededLater || b.ok
	}
	slices.Reverse(gone)
	return gone
}
