package repository

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/location"
)

// Env of the child processes of TestPruneLockHoldsAcrossProcesses.
const (
	lockChildDir = "CAIRN_TEST_PRUNE_LOCK_DIR"
	lockChildAt  = "CAIRN_TEST_PRUNE_LOCK_AT"
)

// Several processes that take the prune lock of one folder at the same
// instant: exactly one gets it.
func TestPruneLockHoldsAcrossProcesses(t *testing.T) {
	if dir := os.Getenv(lockChildDir); dir != "" {
		takePruneLock(t, dir)
		return
	}
	_, dir := newTestRepo(t, InitOptions{})
	exe, err := os.Executable()
	must(t, err)
	const processes = 6
	at := time.Now().Add(2 * time.Second).UnixNano()
	outs := make(chan string, processes)
	for range processes {
		go func() {
			cmd := exec.CommandContext(t.Context(), exe, "-test.run=^"+t.Name()+"$", "-test.v",
				"-test.count=1")
			cmd.Env = append(os.Environ(), lockChildDir+"="+dir,
				lockChildAt+"="+strconv.FormatInt(at, 10))
			out, err := cmd.CombinedOutput()
			if err != nil {
				out = fmt.Appendf(out, "\nexit: %v", err)
			}
			outs <- string(out)
		}()
	}
	won := 0
	for range processes {
		out := <-outs
		switch {
		case strings.Contains(out, "lock: taken"):
			won++
		case !strings.Contains(out, "lock: busy"):
			t.Fatalf("child:\n%s", out)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d processes took the prune lock, want 1", won, processes)
	}
}

// takePruneLock opens the repository in dir through its location, waits for
// the shared instant and tries the lock, logging the outcome.
func takePruneLock(t *testing.T, dir string) {
	ctx := context.Background()
	l, err := location.Open(ctx, dir)
	must(t, err)
	defer l.Close()
	r, err := Open(ctx, l.Bucket(), Credentials{Password: testPassword}, nil)
	must(t, err)
	r.UseLocation(l)
	at, err := strconv.ParseInt(os.Getenv(lockChildAt), 10, 64)
	must(t, err)
	time.Sleep(time.Until(time.Unix(0, at)))
	switch err := r.lockPrune(ctx); {
	case err == nil:
		t.Log("lock: taken")
	case errors.Is(err, ErrPruneRunning):
		t.Log("lock: busy")
	default:
		t.Fatal(err)
	}
}

// Prune of a repository opened through its location removes what writers
// killed while writing left behind, once older than the session timeout.
func TestPruneRemovesStaleTempFiles(t *testing.T) {
	_, dir := newTestRepo(t, InitOptions{})
	l, err := location.Open(t.Context(), dir)
	must(t, err)
	defer l.Close()
	r, err := Open(t.Context(), l.Bucket(), Credentials{Password: testPassword}, nil)
	must(t, err)
	r.UseLocation(l)

	stale := filepath.Join(dir, "data", "8a", "8adc97.18ee06ae0665c365.tmp")
	must(t, os.MkdirAll(filepath.Dir(stale), 0o755))
	must(t, os.WriteFile(stale, []byte("half a pack"), 0o644))
	old := time.Now().Add(-2 * time.Hour)
	must(t, os.Chtimes(stale, old, old))

	rep, err := r.Prune(t.Context(), PruneOptions{Margin: time.Nanosecond,
		SessionTimeout: time.Hour})
	must(t, err)
	if rep.TempFilesRemoved != 1 {
		t.Errorf("prune removed %d temporary files, want 1", rep.TempFilesRemoved)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale temporary file is still there: %v", err)
	}
}
