// Package nobody runs programs for tests as a user without privileges, so
// that tests can check what cairn tells a user who may not read a folder.
// Tests usually run as root, who reads every folder whatever its mode: the
// program then runs as the user nobody (uid 65534). Run as any other user,
// a test runs it as that user, whom a folder of mode 0 shuts out too.
package nobody

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// UID and GID are the user and group programs run as when the test runs as
// root.
const (
	UID = 65534
	GID = 65534
)

// Dir returns a new folder that the user may enter and read, with the
// folders above it, removed when the test ends. Folders made in it with
// mode 0 are shut to the user.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cairn-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A folder of mode 0 stops RemoveAll for a user who is not root.
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if d != nil && d.IsDir() {
				_ = os.Chmod(p, 0o755)
			}
			return nil
		})
		if err := os.RemoveAll(dir); err != nil {
			t.Error(err)
		}
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Executable copies the program at path into a Dir, where the user may run
// it: the test binary and programs built in a test's temporary folder lie
// in folders only their owner may enter.
func Executable(t testing.TB, path string) string {
	t.Helper()
	src, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = src.Close() }()
	dst := filepath.Join(Dir(t), filepath.Base(path))
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(f, src)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// Command returns a command that runs as the user, with env as its whole
// environment.
func Command(t testing.TB, env []string, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Env = env
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: UID, Gid: GID},
		}
	}
	return cmd
}

// Output runs cmd and returns its standard output and error, and its exit
// code. The test is skipped when the system does not let the command
// change user, as in a container without the capability to.
func Output(t testing.TB, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL):
		// EINVAL: a user namespace that maps no such user.
		t.Skipf("cannot run a program as uid %d, so no folder can be shut to it: %v",
			UID, err)
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}
