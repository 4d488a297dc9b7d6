// Command cairn backs up and restores Kubernetes applications.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/cairn-backup/cairn/internal/cli"
)

func main() {
	ctx, stop := cli.NotifyContext(context.Background())
	err := cli.Interrupted(ctx, cli.NewRootCommand().ExecuteContext(ctx))
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cairn:", err)
		os.Exit(cli.ExitCode(err))
	}
}
