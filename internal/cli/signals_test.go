package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/cairn-backup/cairn/test/controlplane"
)

// TestSignalExitCode runs the built binary, stops a backup midway with a
// signal, and checks the exit code a shell expects (128 plus the signal's
// number) and that the half-written backup was removed.
func TestSignalExitCode(t *testing.T) {
	bin := buildCairn(t)
	cp := controlplane.Shared(t)
	ns := cp.Namespace(t)
	cp.Apply(t, controlplane.ExampleApp(t), ns)

	tests := []struct {
		sig  syscall.Signal
		code int
		name string
	}{
		{syscall.SIGINT, 130, "SIGINT"},
		{syscall.SIGTERM, 143, "SIGTERM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blocked := make(chan struct{})
			kubeconfig := blockingProxy(t, cp, "/namespaces/"+ns+"/configmaps", blocked)
			loc, tmp := t.TempDir(), t.TempDir()
			cmd := exec.Command(bin, "--kubeconfig", kubeconfig, "--log-level", "warn",
				"backup", "create", "stopped", "--include-namespaces", ns, "--location", loc)
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()

			select {
			case <-blocked:
			case err := <-exited:
				t.Fatalf("backup ended before it was stopped: %v\n%s", err, stderr.String())
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
				t.Fatalf("backup never listed configmaps\n%s", stderr.String())
			}
			spools, _ := filepath.Glob(filepath.Join(tmp, "cairn-archive-*"))
			if len(spools) == 0 {
				t.Fatal("no archive was being written when the signal was sent")
			}
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}

			var err error
			select {
			case err = <-exited:
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
				t.Fatalf("backup did not stop on %s\n%s", tt.name, stderr.String())
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != tt.code ||
				!strings.Contains(stderr.String(), "stopped by "+tt.name) {
				t.Fatalf("exit %v, stderr %q; want exit %d, stopped by %s", err, stderr.String(),
					tt.code, tt.name)
			}
			if left := files(t, loc, tmp); len(left) > 0 {
				t.Fatalf("the stopped backup left %v", left)
			}
			if left, err := os.ReadDir(loc); err != nil || len(left) > 0 {
				t.Fatalf("the stopped backup left folders %v in the location: %v", left, err)
			}
		})
	}
}

// stuckCleanupEnv, when set, makes the test binary a command whose cleanup
// never ends; see TestSecondSignal.
const stuckCleanupEnv = "CAIRN_TEST_STUCK_CLEANUP"

// init makes the test binary the stuck command before TestMain starts a
// control plane, which catches SIGINT itself.
func init() {
	if os.Getenv(stuckCleanupEnv) != "" {
		stuckCleanup()
	}
}

// stuckCleanup says it is ready on stdout, waits for the first signal and
// then cleans up forever.
func stuckCleanup() {
	ctx, stop := NotifyContext(context.Background())
	defer stop()
	fmt.Println("ready")
	<-ctx.Done()
	for {
		time.Sleep(time.Hour)
	}
}

// TestSecondSignal runs a command whose cleanup never ends, as the test
// binary run again, and checks that the first signal says how to stop at
// once and that a second SIGINT ends the process by the signal's default
// action.
func TestSecondSignal(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		first syscall.Signal
		says  string
	}{
		{"SIGINT twice", syscall.SIGINT, "press Ctrl-C again to stop at once"},
		{"SIGTERM then SIGINT", syscall.SIGTERM, "a second SIGTERM or Ctrl-C stops at once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), stuckCleanupEnv+"=1")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill() })

			if line := readLine(t, stdout); line != "ready" {
				t.Fatalf("the command says %q, want ready", line)
			}
			if err := cmd.Process.Signal(tt.first); err != nil {
				t.Fatal(err)
			}
			line := readLine(t, stderr)
			if !strings.HasPrefix(line, "cairn: stopping") || !strings.Contains(line, tt.says) {
				t.Fatalf("the first signal printed %q, want a line saying %q", line, tt.says)
			}

			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				t.Fatalf("the command ended during its cleanup: %v", err)
			case <-time.After(200 * time.Millisecond):
			}
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			select {
			case err = <-exited:
			case <-time.After(30 * time.Second):
				t.Fatal("a second SIGINT did not end the command")
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the command ended with %v, want killed by SIGINT", err)
			}
			ws, ok := exit.Sys().(syscall.WaitStatus)
			if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
				t.Fatalf("the command ended with %v, want killed by SIGINT", err)
			}
		})
	}
}

// readLine reads one line, waiting at most 30 seconds.
func readLine(t *testing.T, r io.Reader) string {
	t.Helper()
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		lines <- strings.TrimSuffix(line, "\n")
	}()
	select {
	case line := <-lines:
		return line
	case <-time.After(30 * time.Second):
		t.Fatal("no line within 30s")
		return ""
	}
}

// buildCairn builds the cairn binary into a temporary folder.
func buildCairn(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cairn")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin,
		"github.com/cairn-backup/cairn/cmd/cairn")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// blockingProxy serves the control plane's API without authentication on
// loopback and holds every request whose path contains block until the
// client goes away, closing blocked when the first arrives. It returns a
// kubeconfig for the proxy.
func blockingProxy(t *testing.T, cp *controlplane.ControlPlane, block string,
	blocked chan<- struct{}) string {
	t.Helper()
	cfg := cp.RESTConfig()
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: rt,
		// The held requests' clients go away; that is no news.
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) {
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, block) {
			once.Do(func() { close(blocked) })
			<-r.Context().Done()
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	return kubeconfigFor(t, srv.URL)
}

// files lists the files under the folders.
func files(t *testing.T, dirs ...string) []string {
	t.Helper()
	var found []string
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				found = append(found, path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return found
}

// TestInterruptedMessage checks what a command stopped by a signal says:
// an error that only reports the cancellation is not shown as a failure of
// its own, such as an unreachable cluster.
func TestInterruptedMessage(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(&signalError{sig: os.Interrupt})
	tests := []struct {
		err  error
		want string
	}{
		{context.Canceled, "stopped by SIGINT"},
		{fmt.Errorf("cluster unreachable: https://127.0.0.1:1: %w", context.Canceled),
			"stopped by SIGINT"},
		{errors.New("restore r1 ended Failed"), "stopped by SIGINT: restore r1 ended Failed"},
	}
	for _, tt := range tests {
		err := Interrupted(ctx, tt.err)
		if err.Error() != tt.want || ExitCode(err) != 130 {
			t.Errorf("%v: %q, exit %d; want %q, exit 130", tt.err, err, ExitCode(err), tt.want)
		}
	}
	if err := Interrupted(context.Background(), context.Canceled); ExitCode(err) != 1 {
		t.Errorf("without a signal: exit %d, want 1", ExitCode(err))
	}
}
