package controlplane

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const pidFile = "pids"

// process is one child process of the control plane.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // exit status, valid after done is closed
}

func (cp *ControlPlane) logPath(name string) string {
	return filepath.Join(cp.Dir, name+".log")
}

// start launches one binary with its output in <dir>/<name>.log and records
// its PID in <dir>/pids so that StopDir can end it from another process.
func (cp *ControlPlane) start(bins Binaries, name string, detach bool, args ...string) error {
	logFile, err := os.Create(cp.logPath(name))
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }()
	cmd := exec.Command(bins.Path(name), args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Dir = cp.Dir
	if detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		// Its own process group, so that a terminal's Ctrl-C reaches only the
		// test binary, which then stops the children itself; and a kill signal
		// on the parent's death, so that a crash leaves nothing running.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	cp.procs = append(cp.procs, p)

	f, err := os.OpenFile(filepath.Join(cp.Dir, pidFile), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%s %d\n", name, cmd.Process.Pid)
	return errors.Join(err, f.Close())
}

// PIDs returns the process IDs of the control plane's processes by name
// (etcd, kube-apiserver, kube-controller-manager), for benchmarks that
// read what the processes spend.
func (cp *ControlPlane) PIDs() map[string]int {
	pids := map[string]int{}
	for _, p := range cp.procs {
		pids[p.name] = p.cmd.Process.Pid
	}
	return pids
}

// checkExited reports a process that ended before it should have.
func (cp *ControlPlane) checkExited() error {
	for _, p := range cp.procs {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited early (%v); see %s", p.name, p.err, cp.logPath(p.name))
		default:
		}
	}
	return nil
}

// stop asks the process to end, then kills it if it has not within a grace
// period.
func (p *process) stop() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
	}
	if err := p.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	<-p.done
	return nil
}

// waitControllers waits until kube-controller-manager has created the
// default ServiceAccount, the sign that its controllers run.
func (cp *ControlPlane) waitControllers(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		if err := cp.checkExited(); err != nil {
			return err
		}
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("wait for controllers: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("kube-controller-manager made no default ServiceAccount within %s; see %s",
		readyTimeout, cp.logPath("kube-controller-manager"))
}

// StopDir ends the processes recorded in dir by a detached Start, by PID,
// and removes the PID record. Processes already gone are not an error.
func StopDir(dir string) error {
	path := filepath.Join(dir, pidFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var pids []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			continue
		}
		if pid, err := strconv.Atoi(fields[1]); err == nil {
			pids = append(pids, pid)
		}
	}
	_ = f.Close()
	for i := len(pids) - 1; i >= 0; i-- {
		killPID(pids[i])
	}
	return os.Remove(path)
}

// killPID sends SIGTERM, waits up to ten seconds, then SIGKILL.
func killPID(pid int) {
	if syscall.Kill(pid, syscall.SIGTERM) != nil {
		return
	}
	for range 100 {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}
