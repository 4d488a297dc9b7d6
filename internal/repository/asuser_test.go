package repository

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-backup/cairn/test/nobody"
)

// childEnv names the test that a child process started by asUnprivileged runs.
const childEnv = "CAIRN_TEST_AS_USER"

// asUnprivileged reports whether the caller should run the test's body
// here: when not root, or in the child. As root it runs the test again in a
// copy of the test binary as the user nobody, with env added, fails t if
// the child fails, and returns false.
func asUnprivileged(t *testing.T, env ...string) bool {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() || os.Geteuid() != 0 {
		return true
	}
	exe, err := os.Executable()
	must(t, err)
	bin := nobody.Executable(t, exe)
	dir := filepath.Dir(bin)
	env = append(append(os.Environ(), childEnv+"="+t.Name(), "HOME="+dir), env...)
	cmd := nobody.Command(t, env, bin, "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Dir = dir
	stdout, stderr, code := nobody.Output(t, cmd)
	if code != 0 {
		t.Fatalf("as uid %d: exit %d\n%s%s", nobody.UID, code, stdout, stderr)
	}
	t.Logf("as uid %d:\n%s", nobody.UID, stdout)
	return false
}
