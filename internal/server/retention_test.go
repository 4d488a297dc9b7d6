package server

import (
	"slices"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

func TestExpired(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }
	// Two backups a day from Sunday 1 March to Tuesday 31 March 2026.
	var month []retained
	for d := 1; d <= 31; d++ {
		for _, h := range []int{3, 15} {
			month = append(month, retained{name: day(d, h).Format("0102-15"), at: day(d, h),
				ok: true})
		}
	}
	kept := func(gone []string) []string {
		var out []string
		for _, b := range month {
			if !slices.Contains(gone, b.name) {
				out = append(out, b.name)
			}
		}
		return out
	}

	tests := []struct {
		name    string
		policy  v1alpha1.Retention
		backups []retained
		tz      *time.Location
		keep    []string // when backups is nil: the names of month kept
		gone    []string // otherwise: the names that expire
	}{
		{name: "no rule keeps everything", backups: []retained{{name: "a", at: day(1, 1)}},
			gone: nil},
		{name: "keep last", policy: v1alpha1.Retention{KeepLast: ptr.To[int32](3)},
			keep: []string{"0330-15", "0331-03", "0331-15"}},
		{name: "keep last zero", policy: v1alpha1.Retention{KeepLast: ptr.To[int32](0)},
			keep: nil},
		{name: "daily keeps the newest of each day",
			policy: v1alpha1.Retention{KeepDaily: ptr.To[int32](3)},
			keep:   []string{"0329-15", "0330-15", "0331-15"}},
		{name: "weekly keeps the newest of each ISO week",
			policy: v1alpha1.Retention{KeepWeekly: ptr.To[int32](3)},
			// Weeks end on Sundays 15, 22 and 29 March; the last week is open.
			keep: []string{"0322-15", "0329-15", "0331-15"}},
		{name: "monthly", policy: v1alpha1.Retention{KeepMonthly: ptr.To[int32](2)},
			keep: []string{"0331-15"}},
		{name: "rules add up",
			policy: v1alpha1.Retention{KeepLast: ptr.To[int32](2),
				KeepDaily: ptr.To[int32](2), KeepWeekly: ptr.To[int32](2)},
			keep: []string{"0329-15", "0330-15", "0331-03", "0331-15"}},
		{name: "days are read in the schedule's time zone",
			policy: v1alpha1.Retention{KeepDaily: ptr.To[int32](2)},
			tz:     time.FixedZone("UTC-4", -4*3600),
			// 31 March 03:00 UTC is still 30 March at UTC-4.
			keep: []string{"0331-03", "0331-15"}},
		{name: "failed runs go once a later run succeeds",
			policy: v1alpha1.Retention{KeepLast: ptr.To[int32](1)},
			backups: []retained{
				{name: "f1", at: day(1, 1)},
				{name: "ok1", at: day(1, 2), ok: true},
				{name: "f2", at: day(1, 3)},
				{name: "ok2", at: day(1, 4), ok: true},
				{name: "f3", at: day(1, 5)},
			},
			gone: []string{"f1", "ok1", "f2"}},
		{name: "failed runs do not take a success's place",
			policy: v1alpha1.Retention{KeepLast: ptr.To[int32](2)},
			backups: []retained{
				{name: "ok1", at: day(1, 1), ok: true},
				{name: "ok2", at: day(1, 2), ok: true},
				{name: "f1", at: day(1, 3)},
			},
			gone: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tz := tc.tz
			if tz == nil {
				tz = time.UTC
			}
			if tc.backups == nil {
				got := kept(expired(tc.policy, month, tz))
				if !slices.Equal(got, tc.keep) {
					t.Errorf("kept %v, want %v", got, tc.keep)
				}
				return
			}
			if got := expired(tc.policy, tc.backups, tz); !slices.Equal(got, tc.gone) {
				t.Errorf("expired %v, want %v", got, tc.gone)
			}
		})
	}
}
