package server

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

// schedule creates a Schedule.
func (e *env) schedule(t *testing.T, name string, spec v1alpha1.ScheduleSpec) *v1alpha1.Schedule {
	t.Helper()
	s := &v1alpha1.Schedule{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns}, Spec: spec}
	if err := e.c.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// backupsOf lists the names of a schedule's Backups, oldest first.
func (e *env) backupsOf(t *testing.T, schedule string) []v1alpha1.Backup {
	t.Helper()
	var list v1alpha1.BackupList
	if err := e.c.List(t.Context(), &list, client.InNamespace(e.ns),
		client.MatchingLabels{v1alpha1.LabelSchedule: schedule}); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(list.Items, func(a, b v1alpha1.Backup) int {
		return strings.Compare(a.Name, b.Name)
	})
	return list.Items
}

func names(bs []v1alpha1.Backup) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Name)
	}
	return out
}

// waitSchedule waits until a Schedule's status satisfies ok.
func (e *env) waitSchedule(t *testing.T, name string,
	ok func(*v1alpha1.ScheduleStatus) bool) *v1alpha1.Schedule {
	t.Helper()
	var s v1alpha1.Schedule
	eventually(t, 30*time.Second, func() error {
		if err := e.get(t, name, &s); err != nil {
			return err
		}
		if !ok(&s.Status) {
			return fmt.Errorf("schedule %s: status %+v", name, s.Status)
		}
		return nil
	})
	return &s
}

func (e *env) setPaused(t *testing.T, name string, paused bool) {
	t.Helper()
	var s v1alpha1.Schedule
	if err := e.get(t, name, &s); err != nil {
		t.Fatal(err)
	}
	patch := fmt.Sprintf(`{"spec":{"paused":%t}}`, paused)
	if err := e.c.Patch(t.Context(), &s, client.RawPatch("application/merge-patch+json",
		[]byte(patch))); err != nil {
		t.Fatal(err)
	}
}

func at(hhmmss string) time.Time {
	t, err := time.Parse(time.DateTime, "2026-05-04 "+hhmmss)
	if err != nil {
		panic(err)
	}
	return t
}

func nextIs(want time.Time) func(*v1alpha1.ScheduleStatus) bool {
	return func(s *v1alpha1.ScheduleStatus) bool {
		return s.NextScheduleTime != nil && s.NextScheduleTime.Time.Equal(want)
	}
}

// TestCase_BD08 pauses and unpauses schedules on a fake clock: ticks that
// pass while paused are not made up for, and a schedule paused from the
// start never runs.
func TestCase_BD08(t *testing.T) {
	e := newEnv(t)
	e.location(t, "main", e.dir, func(bl *v1alpha1.BackupLocation) { bl.Spec.Default = true })
	clk := clocktesting.NewFakePassiveClock(at("10:40:00"))
	e.serve(t, Options{Clock: clk})
	tmpl := v1alpha1.BackupTemplate{IncludeNamespaces: []string{e.ns}}

	s1 := e.schedule(t, "s1", v1alpha1.ScheduleSpec{Schedule: "45 * * * *", Template: tmpl})
	e.waitSchedule(t, "s1", nextIs(at("10:45:00")))
	s2 := e.schedule(t, "s2", v1alpha1.ScheduleSpec{Schedule: "@every 1m", Paused: true,
		Template: tmpl})
	e.waitSchedule(t, "s2", func(s *v1alpha1.ScheduleStatus) bool {
		return s.Phase == v1alpha1.SchedulePhasePaused
	})

	clk.SetTime(at("10:43:00"))
	e.setPaused(t, "s1", true)
	e.waitSchedule(t, "s1", func(s *v1alpha1.ScheduleStatus) bool {
		return s.Phase == v1alpha1.SchedulePhasePaused && s.NextScheduleTime == nil
	})
	clk.SetTime(at("10:50:00"))
	e.setPaused(t, "s1", false)
	e.waitSchedule(t, "s1", nextIs(at("11:45:00")))

	for _, now := range []string{"11:00:00", "11:30:00", "11:44:59"} {
		clk.SetTime(at(now))
		e.poke(t, s1)
		e.poke(t, s2)
	}
	time.Sleep(time.Second) // time for a wrong Backup to appear
	if got := e.backupsOf(t, "s1"); len(got) > 0 {
		t.Fatalf("s1 made %v before 11:45", names(got))
	}

	clk.SetTime(at("11:45:01"))
	e.poke(t, s1)
	st := e.waitSchedule(t, "s1", nextIs(at("12:45:00"))).Status
	if got := names(e.backupsOf(t, "s1")); !slices.Equal(got, []string{"s1-20260504114500"}) {
		t.Errorf("s1 made %v, want one backup at 11:45", got)
	}
	if st.LastScheduleTime == nil || !st.LastScheduleTime.Time.Equal(at("11:45:00")) {
		t.Errorf("s1 last schedule time %v, want 11:45", st.LastScheduleTime)
	}
	if got := e.backupsOf(t, "s2"); len(got) > 0 {
		t.Errorf("paused s2 made %v", names(got))
	}
}

// nopEvents drops events.
type nopEvents struct{}

func (nopEvents) Eventf(_, _ runtime.Object, _, _, _, _ string, _ ...any) {}
func (nopEvents) AnnotatedEventf(_, _ runtime.Object, _ map[string]string, _, _, _, _ string,
	_ ...any) {
}

// TestCase_BD09 runs a */15 schedule for two simulated hours while every
// backup takes 40 minutes: ticks during a run are skipped and counted, not
// queued, and a schedule never has two Backups running.
func TestCase_BD09(t *testing.T) {
	e := newEnv(t)
	clk := clocktesting.NewFakePassiveClock(at("23:59:30").Add(-24 * time.Hour))
	r := &scheduleReconciler{deps: &deps{client: e.c, reader: e.c, ns: e.ns, clock: clk,
		log: testLogger(t), events: nopEvents{}, metrics: registerMetrics(prometheus.NewRegistry())}}
	e.schedule(t, "quarter", v1alpha1.ScheduleSpec{Schedule: "*/15 * * * *",
		Template: v1alpha1.BackupTemplate{Location: "main"}})
	req := ctrl.Request{NamespacedName: types.NamespacedName{Namespace: e.ns, Name: "quarter"}}

	// The server's backup side, played by hand: a new Backup runs for 40
	// minutes and then completes.
	const runTime = 40 * time.Minute
	advance := func() {
		for _, b := range e.backupsOf(t, "quarter") {
			start := scheduledTime(&b)
			switch {
			case b.Status.Phase == "":
				b.Status.Phase = v1alpha1.PhaseInProgress
			case b.Status.Phase == v1alpha1.PhaseInProgress && !clk.Now().Before(start.Add(runTime)):
				b.Status.Phase = v1alpha1.PhaseCompleted
			default:
				continue
			}
			if err := e.c.Status().Update(t.Context(), &b); err != nil {
				t.Fatal(err)
			}
		}
	}
	for !clk.Now().After(at("02:00:30")) {
		advance()
		if _, err := r.Reconcile(t.Context(), req); err != nil {
			t.Fatal(err)
		}
		var runningNow []string
		for _, b := range e.backupsOf(t, "quarter") {
			if !b.Status.Phase.Terminal() {
				runningNow = append(runningNow, b.Name)
			}
		}
		if len(runningNow) > 1 {
			t.Fatalf("at %s: %v run at once", clk.Now(), runningNow)
		}
		clk.SetTime(clk.Now().Add(time.Minute))
	}

	want := []string{"quarter-20260504000000", "quarter-20260504004500",
		"quarter-20260504013000"}
	if got := names(e.backupsOf(t, "quarter")); !slices.Equal(got, want) {
		t.Errorf("backups %v, want %v", got, want)
	}
	var s v1alpha1.Schedule
	if err := e.get(t, "quarter", &s); err != nil {
		t.Fatal(err)
	}
	// Skipped: 00:15, 00:30, 01:00, 01:15, 01:45, 02:00.
	if s.Status.SkippedRuns != 6 || !s.Status.LastSkippedTime.Time.Equal(at("02:00:00")) {
		t.Errorf("skipped %d, last %v; want 6, the last at 02:00", s.Status.SkippedRuns,
			s.Status.LastSkippedTime)
	}
}

// TestScheduleTimeout fires a real-clock schedule every two seconds whose
// backups hang past their timeout: each is failed at the timeout and the
// next tick runs.
func TestScheduleTimeout(t *testing.T) {
	e := newEnv(t)
	e.location(t, "main", e.dir, nil)
	e.serve(t, slowEngine)
	e.schedule(t, "hung", v1alpha1.ScheduleSpec{Schedule: "@every 2s",
		Template: v1alpha1.BackupTemplate{Location: "main",
			Timeout: &metav1.Duration{Duration: 1500 * time.Millisecond}}})

	eventually(t, 30*time.Second, func() error {
		var failed int
		for _, b := range e.backupsOf(t, "hung") {
			if b.Status.Phase == v1alpha1.PhaseFailed {
				if !strings.Contains(b.Status.FailureReason, "timed out") {
					t.Fatalf("backup %s failed: %s", b.Name, b.Status.FailureReason)
				}
				failed++
			}
		}
		if failed < 2 {
			return fmt.Errorf("%d backups timed out", failed)
		}
		return nil
	})
	e.setPaused(t, "hung", true)
	if got := manifests(t, e.dir); len(got) > 0 {
		t.Errorf("timed-out backups published %v", got)
	}
}

// TestCase_BD10 applies the retention of two schedules whose backups are
// interleaved: each removes only its own backups, from the cluster and the
// location.
func TestCase_BD10(t *testing.T) {
	e := newEnv(t)
	e.location(t, "main", e.dir, func(bl *v1alpha1.BackupLocation) { bl.Spec.Default = true })
	clk := clocktesting.NewFakePassiveClock(at("08:00:30"))
	e.serve(t, Options{Clock: clk})
	tmpl := v1alpha1.BackupTemplate{IncludeNamespaces: []string{e.ns}}
	a := e.schedule(t, "ns-a", v1alpha1.ScheduleSpec{Schedule: "* * * * *", Template: tmpl,
		Retention: v1alpha1.Retention{KeepLast: ptr.To[int32](2)}})
	b := e.schedule(t, "ns-b", v1alpha1.ScheduleSpec{Schedule: "* * * * *", Template: tmpl,
		Retention: v1alpha1.Retention{KeepLast: ptr.To[int32](5)}})
	e.waitSchedule(t, "ns-a", nextIs(at("08:01:00")))
	e.waitSchedule(t, "ns-b", nextIs(at("08:01:00")))

	for minute := 1; minute <= 6; minute++ {
		clk.SetTime(at(fmt.Sprintf("08:%02d:30", minute)))
		e.poke(t, a)
		e.poke(t, b)
		for _, s := range []string{"ns-a", "ns-b"} {
			name := fmt.Sprintf("%s-202605040%d%02d00", s, 8, minute)
			e.waitBackup(t, name, time.Minute, terminal)
		}
	}

	wantA := []string{"ns-a-20260504080500", "ns-a-20260504080600"}
	wantB := []string{"ns-b-20260504080200", "ns-b-20260504080300", "ns-b-20260504080400",
		"ns-b-20260504080500", "ns-b-20260504080600"}
	eventually(t, 30*time.Second, func() error {
		gotA, gotB := names(e.backupsOf(t, "ns-a")), names(e.backupsOf(t, "ns-b"))
		if !slices.Equal(gotA, wantA) || !slices.Equal(gotB, wantB) {
			return fmt.Errorf("ns-a keeps %v, ns-b keeps %v", gotA, gotB)
		}
		inLocation := manifests(t, e.dir)
		slices.Sort(inLocation)
		if want := slices.Concat(wantA, wantB); !slices.Equal(inLocation, want) {
			return fmt.Errorf("location holds %v, want %v", inLocation, want)
		}
		return nil
	})
}

// TestParseSchedule checks the errors a Schedule's fields are refused with.
func TestParseSchedule(t *testing.T) {
	tests := []struct {
		name, cron, zone, want string // want is "" when the schedule is valid
	}{
		{"cron", "0 1 * * *", "Europe/Berlin", ""},
		{"descriptor", " @every 6h ", "", ""},
		{"zone prefix", "CRON_TZ=UTC 0 1 * * *", "", "give the time zone in spec.timeZone"},
		{"bad cron", "61 * * * *", "", `schedule "61 * * * *": end of range (61)`},
		{"seconds", "0 0 1 * * *", "", "expected exactly 5 fields"},
		{"bad zone", "0 1 * * *", "Mars/Base", `time zone "Mars/Base"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &v1alpha1.Schedule{ObjectMeta: metav1.ObjectMeta{Name: "s"},
				Spec: v1alpha1.ScheduleSpec{Schedule: tt.cron, TimeZone: tt.zone}}
			_, _, err := parseSchedule(s)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("parseSchedule: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("parseSchedule: %v, want %q", err, tt.want)
			}
		})
	}
}
