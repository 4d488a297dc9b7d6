package server

import (
	"context"
	"errors"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Why a run's context ended; the run records the cause as its failure
// reason.
var (
	errCancelled = errors.New("cancelled (spec.cancel)")
	errDeleted   = errors.New("cancelled: the resource was deleted")
	errTimedOut  = errors.New("timed out (spec.timeout)")
	errShutdown  = errors.New("the server shut down during the run")
)

// runs owns the goroutines of running backups and restores, keyed by the
// UID of their resource. An entry stays after its run ends until the
// reconciler has seen the run's final status, so that a reconcile reading
// a stale InProgress from the cache does not take the finished run for one
// a dead server left behind.
//
// runs is a manager Runnable: when the manager stops, it cancels every run
// and waits for them to write their status.
type runs struct {
	mu   sync.Mutex
	m    map[types.UID]*run
	wg   sync.WaitGroup
	base context.Context
	stop context.CancelCauseFunc
}

// finisher writes the final status of a run.
type finisher = func(context.Context) error

// run is one goroutine of runs.
type run struct {
	cancel context.CancelCauseFunc
	done   chan struct{}

	mu sync.Mutex
	// finish writes the run's final status; it is kept to try again when
	// the write failed.
	finish  func(ctx context.Context) error
	written bool
}

func newRuns() *runs {
	base, stop := context.WithCancelCause(context.Background())
	return &runs{m: map[types.UID]*run{}, base: base, stop: stop}
}

// Start blocks until ctx ends, then stops every run and waits for it.
func (rs *runs) Start(ctx context.Context) error {
	<-ctx.Done()
	rs.stop(errShutdown)
	rs.wg.Wait()
	return nil
}

// NeedLeaderElection is false: runs only ever holds what the leader's
// reconcilers started, and must wind them down whatever happens.
func (rs *runs) NeedLeaderElection() bool { return false }

// start runs work in a new goroutine unless uid already has a run, and
// reports whether it started one. work returns the function that writes
// the final status.
func (rs *runs) start(uid types.UID, work func(context.Context) finisher) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if _, ok := rs.m[uid]; ok {
		return false
	}
	if rs.base.Err() != nil {
		return false
	}
	ctx, cancel := context.WithCancelCause(rs.base)
	r := &run{cancel: cancel, done: make(chan struct{})}
	rs.m[uid] = r
	rs.wg.Add(1)
	go func() {
		defer rs.wg.Done()
		defer close(r.done)
		defer cancel(nil)
		finish := work(ctx)
		r.mu.Lock()
		r.finish = finish
		r.mu.Unlock()
		r.write(context.WithoutCancel(ctx))
	}()
	return true
}

// write writes the final status once.
func (r *run) write(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.written || r.finish == nil {
		return
	}
	r.written = r.finish(ctx) == nil
}

// get returns the run of uid, or nil.
func (rs *runs) get(uid types.UID) *run {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.m[uid]
}

// forget drops the entry of a run that is over and whose end the caller
// has seen.
func (rs *runs) forget(uid types.UID) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r, ok := rs.m[uid]; ok && r.finished() {
		delete(rs.m, uid)
	}
}

func (r *run) finished() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// withTimeout cancels ctx with errTimedOut once timeout (spec.timeout) has
// passed; nil or zero means no limit. A timer, not a context deadline:
// clients that see a deadline give up early ("would exceed context
// deadline") with an error that hides why, and the run would not read as
// timed out. Call stop when the run ends.
func withTimeout(ctx context.Context, timeout *metav1.Duration) (context.Context, func()) {
	if timeout == nil || timeout.Duration <= 0 {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(timeout.Duration, func() { cancel(errTimedOut) })
	return ctx, func() {
		timer.Stop()
		cancel(nil)
	}
}
