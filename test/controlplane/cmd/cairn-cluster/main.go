// Command cairn-cluster starts and stops the local control plane that
// cairn's tests and demo use.
//
//	cairn-cluster up               start it in the background, print the kubeconfig path
//	cairn-cluster down             stop what "up" started
//	cairn-cluster run -- CMD ARGS  start it, run CMD with KUBECONFIG set, stop it
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cairn-backup/cairn/test/controlplane"
)

const usage = `usage:
  cairn-cluster up               start the control plane in the background
  cairn-cluster down             stop it
  cairn-cluster run -- CMD ARGS  start it, run CMD with KUBECONFIG set, stop it`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "up":
		err = up(ctx)
	case "down":
		err = down()
	case "run":
		args := os.Args[2:]
		if len(args) > 0 && args[0] == "--" {
			args = args[1:]
		}
		err = run(ctx, args)
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cairn-cluster: %v\n", err)
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			os.Exit(exit.ExitCode())
		}
		os.Exit(1)
	}
}

// stateDir is where "up" keeps the control plane, so "down" can find it.
func stateDir() string {
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "cairn", "cluster")
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

// up starts the control plane, or, when the one it started before still
// answers, prints its kubeconfig again: running it twice loses nothing.
func up(ctx context.Context) error {
	dir := stateDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if answers(kubeconfig) {
		fmt.Println(kubeconfig)
		logf("the control plane is already running; stop it with: make cluster-down")
		return nil
	}
	if err := down(); err != nil {
		return err
	}
	cp, err := controlplane.Start(ctx, controlplane.Options{Dir: dir, Detach: true, Logf: logf})
	if err != nil {
		return err
	}
	fmt.Println(cp.Kubeconfig)
	logf("use it with: export KUBECONFIG=%s", cp.Kubeconfig)
	return nil
}

func down() error {
	dir := stateDir()
	if err := controlplane.StopDir(dir); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("run: no command given")
	}
	cp, err := controlplane.Start(ctx, controlplane.Options{Logf: logf})
	if err != nil {
		return err
	}
	defer func() { _ = cp.Stop() }()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+cp.Kubeconfig)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd.Run()
}

// answers reports whether the API server of a kubeconfig answers.
func answers(kubeconfig string) bool {
	if _, err := os.Stat(kubeconfig); err != nil {
		return false
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return false
	}
	cfg.Timeout = 3 * time.Second
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return false
	}
	_, err = dc.ServerVersion()
	return err == nil
}
