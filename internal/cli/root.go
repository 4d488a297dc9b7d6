// Package cli holds cairn's commands: one file per command, each with an
// options struct that binds its flags, validates them and runs. Commands only
// translate between people and the engines in the other internal packages.
package cli

import (
	"errors"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/cairn-backup/cairn/internal/cluster"
)

// globalOptions are the flags every command shares.
type globalOptions struct {
	cluster  cluster.Options
	logLevel string
}

// NewRootCommand builds the cairn command tree.
func NewRootCommand() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "cairn",
		Short: "Back up and restore Kubernetes applications",
		Long: `cairn backs up the API objects of a Kubernetes cluster, or part of it, to a
local folder or object storage, and restores them into the same cluster,
another namespace or another cluster.

Exit codes: 0 done; 1 failed, or ended other than Completed, or a backup or
restore named was not found; 2 bad input (a flag, a value or a name cairn
cannot take, or a name already taken); 130 and 143 stopped by SIGINT or
SIGTERM.`,
		Example: `  # Back up the namespace shop and list the backups
  cairn backup create shop-1 --include-namespaces shop
  cairn backup list

  # Restore it into a new namespace beside the original
  cairn restore create --from-backup shop-1 --namespace-mappings shop:shop-copy`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.setupLogging(); err != nil {
				return err
			}
			if err := g.cluster.Validate(); err != nil {
				return usageErrorf("%v", err)
			}
			return locationKeys(cmd)
		},
	}
	// Unknown or malformed flags are bad input, exit code 2, in every
	// command (cobra looks this up from the root).
	root.SetFlagErrorFunc(flagError)
	g.cluster.AddFlags(root.PersistentFlags())
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")

	root.AddCommand(
		newVersionCommand(g),
		newBackupCommand(g),
		newRestoreCommand(g),
		newKeyCommand(g),
		newLocationCommand(g),
		newRepoCommand(g),
		newServerCommand(g), newInstallCommand(g), newScheduleCommand(g),
	)
	addServerMode(root, g)
	rejectUnknownSubcommands(root)
	return root
}

// rejectUnknownSubcommands makes every command that only groups others
// print its help when called alone, and refuse, as bad input, a word that
// names none of its subcommands.
func rejectUnknownSubcommands(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		rejectUnknownSubcommands(sub)
	}
	if !cmd.HasSubCommands() || cmd.Runnable() || cmd.Parent() == nil {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return c.Help()
		}
		return usageErrorf("unknown command %q for %q; see %s --help", args[0],
			c.CommandPath(), c.CommandPath())
	}
}

func (g *globalOptions) setupLogging() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return usageErrorf("--log-level: %q is not one of debug, info, warn, error", g.logLevel)
	}
	h := slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})
	slog.SetDefault(slog.New(h))
	// client-go logs through klog: its lines, such as client-side
	// throttling, go through the same handler as cairn's own.
	klog.SetSlogLogger(slog.Default())
	return nil
}

// usageError marks bad input from the user; it exits with code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: sprintf(format, args...)}
}

// ExitCode maps an error returned by a command to the process exit code:
// 128 plus the signal's number when Interrupted marked it (130 for SIGINT,
// 143 for SIGTERM), 2 for bad input, 1 for everything else.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var stopped *interruptedError
	if errors.As(err, &stopped) {
		return stopped.exitCode()
	}
	var u *usageError
	if errors.As(err, &u) || strings.HasPrefix(err.Error(), "unknown command ") {
		return 2 // the second: cobra's own error for a word no command has
	}
	return 1
}
