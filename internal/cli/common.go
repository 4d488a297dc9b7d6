package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cairn-backup/cairn/internal/cluster"
	"github.com/cairn-backup/cairn/internal/config"
	"github.com/cairn-backup/cairn/internal/crypt"
	"github.com/cairn-backup/cairn/internal/location"
)

// locationFlag is the --location flag of every command that reads or writes
// backups. It takes a location name from the client configuration (see
// cairn location add) or a URL; without it, the configured default
// location, else location.DefaultURL.
type locationFlag struct {
	ref string
	// create lets a command make a folder location that does not exist;
	// only backup create writes into a new location, and every other
	// command reports a missing folder it was given or configured, by name
	// or as the default, instead of showing it empty. Only the built-in
	// default, location.DefaultURL, is made when first used.
	create bool
}

func (l *locationFlag) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&l.ref, "location", "",
		"where backups are kept: a location name (cairn location list), a folder, "+
			"file:///path or a bucket URL (default: the default location, else "+
			location.DefaultURL()+")")
}

// resolve looks the flag up in the client configuration.
func (l *locationFlag) resolve() (config.Location, error) {
	return resolveLocation(l.ref)
}

// open opens the location with its configured options: read-only and
// credentials file.
func (l *locationFlag) open(ctx context.Context) (*location.Location, error) {
	c, err := l.resolve()
	if err != nil {
		return nil, err
	}
	return location.OpenWith(ctx, c.URL, location.Options{
		ReadOnly:        c.ReadOnly,
		CredentialsFile: c.CredentialsFile,
		MustExist:       !l.create && c.URL != "",
	})
}

// resolveLocation turns a location name or URL, or "" for the default,
// into a location with its options.
func resolveLocation(ref string) (config.Location, error) {
	return resolveLocationFlag("--location", ref)
}

// resolveLocationFlag is resolveLocation for a flag of another name.
func resolveLocationFlag(flag, ref string) (config.Location, error) {
	c, _, err := loadConfig()
	if err != nil {
		return config.Location{}, err
	}
	loc, err := c.Resolve(ref)
	if errors.Is(err, config.ErrNotFound) {
		return config.Location{}, usageErrorf("%s: %v", flag, err)
	}
	return loc, err
}

// loadConfig reads the client configuration file.
func loadConfig() (*config.Config, string, error) {
	path, err := config.Path()
	if err != nil {
		return nil, "", err
	}
	c, err := config.Load(path)
	if err != nil {
		return nil, "", err
	}
	return c, path, nil
}

// locationKeys fills the key flags a command was not given from the keys of
// its location in the client configuration. It runs before every command,
// so a command that binds --location and key flags uses a location's keys
// with no code of its own. Keys given as flags replace the location's keys
// of the same kind: --recipient or --recipient-file replace its
// recipients, --identity-file its identity files.
func locationKeys(cmd *cobra.Command) error {
	f := cmd.Flags().Lookup("location")
	if f == nil {
		return nil
	}
	loc, err := resolveLocation(f.Value.String())
	if err != nil {
		return err
	}
	fs := cmd.Flags()
	given := func(name string) bool {
		fl := fs.Lookup(name)
		return fl == nil || fl.Changed
	}
	fill := func(name string, values []string) error {
		for _, v := range values {
			if err := fs.Set(name, v); err != nil {
				return fmt.Errorf("location %s: --%s: %w", loc.Name, name, err)
			}
		}
		return nil
	}
	if !given("recipient") && !given("recipient-file") {
		if err := fill("recipient", loc.Recipients); err != nil {
			return err
		}
		if err := fill("recipient-file", loc.RecipientFiles); err != nil {
			return err
		}
	}
	if !given("identity-file") {
		return fill("identity-file", loc.IdentityFiles)
	}
	return nil
}

// connect builds the cluster clients and checks that the cluster answers, so
// that an unreachable cluster is reported before any work starts.
func (g *globalOptions) connect(ctx context.Context) (*cluster.Cluster, error) {
	c, err := g.cluster.Connect()
	if err != nil {
		return nil, err
	}
	if _, err := c.ServerVersion(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// engine is what backup create and restore create need before they
// start: the keys, a cluster that answers, and the location.
type engine struct {
	keys    crypt.Keys
	cluster *cluster.Cluster
	loc     *location.Location
}

// prepare loads the keys, connects to the cluster and opens the location,
// in that order, so that bad input is reported before anything is
// contacted. Close the location when done.
func (g *globalOptions) prepare(ctx context.Context, k *keyFlags, l *locationFlag) (engine,
	error) {
	keys, err := k.load()
	if err != nil {
		return engine{}, err
	}
	c, err := g.connect(ctx)
	if err != nil {
		return engine{}, err
	}
	loc, err := l.open(ctx)
	if err != nil {
		return engine{}, err
	}
	return engine{keys: keys, cluster: c, loc: loc}, nil
}

// progress shows long work: a redrawn status line on a terminal, a log line
// every few seconds otherwise. status is called from the progress goroutine
// and must be safe for concurrent use.
type progress struct {
	stop chan struct{}
	done chan struct{}
}

func startProgress(what string, status func() string) *progress {
	p := &progress{stop: make(chan struct{}), done: make(chan struct{})}
	interactive := term.IsTerminal(int(os.Stderr.Fd()))
	go func() {
		defer close(p.done)
		var bar *progressbar.ProgressBar
		interval := 5 * time.Second
		if interactive {
			interval = 200 * time.Millisecond
			bar = progressbar.NewOptions64(-1,
				progressbar.OptionSetWriter(os.Stderr),
				progressbar.OptionSetDescription(what),
				progressbar.OptionSpinnerType(14),
				progressbar.OptionSetElapsedTime(true),
				progressbar.OptionClearOnFinish(),
			)
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				if bar != nil {
					_ = bar.Finish()
				}
				return
			case <-t.C:
				if bar != nil {
					bar.Describe(fmt.Sprintf("%s: %s", what, status()))
					_ = bar.Add(1)
				} else {
					slog.Info(what, "progress", status())
				}
			}
		}
	}()
	return p
}

// Stop ends the display.
func (p *progress) Stop() {
	close(p.stop)
	<-p.done
}

// copyObject streams an object of a location to w.
func copyObject(ctx context.Context, w io.Writer, loc *location.Location, key string) error {
	r, err := loc.Open(ctx, key)
	if err != nil {
		return err
	}
	defer func() { _ = r.Close() }()
	_, err = io.Copy(w, r)
	return err
}

// downloadTo writes an object to a new file. The file appears only once
// complete, and an existing file is never replaced.
func downloadTo(ctx context.Context, file string, copyTo func(io.Writer) error) error {
	if _, err := os.Stat(file); err == nil {
		return usageErrorf("%s exists; choose another file with -f", file)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".part-")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := copyTo(tmp); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), file); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}
