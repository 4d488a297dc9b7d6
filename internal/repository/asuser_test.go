package repository

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// childEnv names the test that a child process started by asUnprivileged runs.
const childEnv = "CAIRN_TEST_AS_USER"

// unprivilegedUID is the user that tests run as when they must not be root.
const unprivilegedUID = 1000

// asUnprivileged reports whether the caller should run the test's body
// here: when not root, or in the child. As root it runs the test again in a
// copy of the test binary as uid and gid 1000, with env added, fails t if
// the child fails, and returns false.
func asUnprivileged(t *testing.T, env ...string) bool {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() || os.Geteuid() != 0 {
		return true
	}
	dir, err := os.MkdirTemp("", "cairn-as-user-")
	must(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o755))
	exe, err := os.Executable()
	must(t, err)
	bin := filepath.Join(dir, "repository.test")
	copyFile(t, exe, bin)

	cmd := exec.CommandContext(t.Context(), bin, "-test.run=^"+t.Name()+"$", "-test.v",
		"-test.count=1")
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), childEnv+"="+t.Name(), "HOME="+dir), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{
		Uid: unprivilegedUID, Gid: unprivilegedUID}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as uid %d: %v\n%s", unprivilegedUID, err, out)
	}
	t.Logf("as uid %d:\n%s", unprivilegedUID, out)
	return false
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	must(t, err)
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	must(t, err)
	_, err = io.Copy(out, in)
	must(t, err)
	must(t, out.Close())
}
