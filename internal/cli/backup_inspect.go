package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/backup"
	"github.com/cairn-backup/cairn/internal/location"
)

// backupRef are the options of commands that act on stored backups.
type backupRef struct {
	location locationFlag
	out      outputFlag
}

func newBackupListCommand(_ *globalOptions) *cobra.Command {
	return listCommand("List the backups in a location",
		`  cairn backup list
  cairn backup list --location s3://my-bucket/cairn -o json`,
		"backups", "NAME\tSTATUS\tAGE\tOBJECTS\tSIZE\tERRORS", backup.List,
		func(m *archive.Manifest) string {
			return fmt.Sprintf("%s\t%s\t%s\t%d\t%s\t%d", m.Name, m.Phase, age(m.StartTime),
				m.Totals.Objects, humanBytes(m.Archive.Size), len(m.Errors))
		})
}

// age formats how long ago t was, kubectl style.
func age(t time.Time) string {
	d := time.Since(t).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

type backupDescribeOptions struct {
	backupRef
	details bool
	keys    keyFlags
}

func newBackupDescribeCommand(_ *globalOptions) *cobra.Command {
	o := &backupDescribeOptions{}
	cmd := &cobra.Command{
		Use:   "describe NAME",
		Short: "Show a backup: its spec, revision, counts per type and problems",
		Example: `  cairn backup describe shop-1
  cairn backup describe shop-1 --details   # every object, per type
  cairn backup describe shop-1 -o yaml`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.out.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context(), cmd.OutOrStdout(), args[0])
		},
	}
	o.location.bind(cmd)
	o.out.bind(cmd)
	cmd.Flags().BoolVar(&o.details, "details", false, "list every object, per type")
	o.keys.bindIdentities(cmd)
	return cmd
}

// describeReport is what `backup describe -o` prints.
type describeReport struct {
	*archive.Manifest `json:",inline"`
	Objects           []archive.IndexEntry `json:"objects,omitempty"`
}

func (o *backupDescribeOptions) run(ctx context.Context, w io.Writer, name string) error {
	loc, err := o.location.open(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = loc.Close() }()
	m, err := backup.Get(ctx, loc, name)
	if err != nil {
		return err
	}
	report := describeReport{Manifest: m}
	if o.details {
		keys, err := o.keys.load()
		if err != nil {
			return err
		}
		if report.Objects, err = backup.Objects(ctx, loc, m, keys); err != nil {
			return err
		}
	}
	if o.out.structured() {
		return o.out.print(w, report)
	}
	printManifest(w, m)
	if o.details {
		fmt.Fprintln(w, "Objects:")
		for _, e := range report.Objects {
			fmt.Fprintf(w, "  %s\n", e.Ref)
		}
	}
	return nil
}

func printManifest(w io.Writer, m *archive.Manifest) {
	fmt.Fprintf(w, "Name:              %s\n", m.Name)
	fmt.Fprintf(w, "Phase:             %s\n", m.Phase)
	fmt.Fprintf(w, "Started:           %s\n", m.StartTime.Format(time.RFC3339))
	fmt.Fprintf(w, "Duration:          %s\n", m.EndTime.Sub(m.StartTime))
	fmt.Fprintf(w, "Cluster:           %s (%s, kube-system uid %s)\n",
		m.Cluster.Server, m.Cluster.KubernetesVersion, m.Cluster.UID)
	fmt.Fprintf(w, "Resource version:  %s\n", m.ResourceVersion)
	enc := m.Archive.Encryption
	if enc == "" {
		enc = "none: the archive is stored in the clear"
	}
	fmt.Fprintf(w, "Encryption:        %s\n", enc)
	fmt.Fprintf(w, "Archive:           %s (%s, sha256 %s)\n",
		m.Archive.Key, humanBytes(m.Archive.Size), m.Archive.SHA256)
	s := m.Spec
	fmt.Fprintf(w, "Namespaces:        include %v, exclude %v\n", orAll(s.IncludeNamespaces), s.ExcludeNamespaces)
	fmt.Fprintf(w, "Resources:         include %v, exclude %v\n", orAll(s.IncludeResources), s.ExcludeResources)
	if s.Selector != "" || len(s.OrSelectors) > 0 {
		fmt.Fprintf(w, "Selector:          %s %v\n", s.Selector, s.OrSelectors)
	}
	fmt.Fprintf(w, "Cluster resources: %s\n", s.IncludeClusterResources)
	fmt.Fprintf(w, "Objects:           %d (%s)\n", m.Totals.Objects, humanBytes(m.Totals.Bytes))
	fmt.Fprintf(w, "Types:             %d read; those with objects:\n", len(m.Types))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  TYPE\tOBJECTS\tREVISION\tCONSISTENCY")
	for _, t := range m.Types {
		if t.Count == 0 && t.Consistency == archive.ConsistencySnapshot {
			continue
		}
		name := t.Resource + "." + t.Version
		if t.Group != "" {
			name += "." + t.Group
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\n", name, t.Count, t.ResourceVersion, t.Consistency)
	}
	_ = tw.Flush()
	printProblems(w, m.Warnings, "Warnings")
	printProblems(w, m.Errors, "Errors")
}

func orAll(s []string) []string {
	if len(s) == 0 {
		return []string{"*"}
	}
	return s
}

func newBackupLogsCommand(_ *globalOptions) *cobra.Command {
	o := &backupRef{}
	cmd := &cobra.Command{
		Use:     "logs NAME",
		Short:   "Print the log of a backup, as JSON lines",
		Example: `  cairn backup logs shop-1 | jq 'select(.level=="ERROR")'`,
		Args:    exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			loc, err := o.location.open(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = loc.Close() }()
			m, err := backup.Get(ctx, loc, args[0])
			if err != nil {
				return err
			}
			return copyObject(ctx, cmd.OutOrStdout(), loc, backup.LogKey(m.Name, m.UID))
		},
	}
	o.location.bind(cmd)
	return cmd
}

func newBackupDownloadCommand(_ *globalOptions) *cobra.Command {
	o := &backupRef{}
	var file string
	cmd := &cobra.Command{
		Use:   "download NAME",
		Short: "Download the raw archive of a backup",
		Long: `Download the archive of a backup as stored: a tar stream compressed with
zstd (see docs/format.md), readable with tar --zstd when not encrypted.`,
		Example: `  cairn backup download shop-1                 # writes shop-1.tar.zst
  cairn backup download shop-1 -f - | tar --zstd -t`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			loc, err := o.location.open(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = loc.Close() }()
			m, err := backup.Get(ctx, loc, args[0])
			if err != nil {
				return err
			}
			copyTo := func(w io.Writer) error { return copyArchive(ctx, w, loc, m) }
			if file == "-" {
				return copyTo(cmd.OutOrStdout())
			}
			if file == "" {
				file = m.Name + ".tar.zst"
			}
			return downloadTo(ctx, file, copyTo)
		},
	}
	o.location.bind(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "file to write, - for standard output (default: NAME.tar.zst)")
	return cmd
}

// copyArchive streams a backup's stored archive to w and checks it against
// the manifest on the way: a damaged archive is an error, not a file that
// looks whole.
func copyArchive(ctx context.Context, w io.Writer, loc *location.Location,
	m *archive.Manifest) error {
	h := sha256.New()
	n := &countingWriter{}
	if err := copyObject(ctx, io.MultiWriter(w, h, n), loc, m.Archive.Key); err != nil {
		return err
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n.n != m.Archive.Size || sum != m.Archive.SHA256 {
		return fmt.Errorf("backup %s: the stored archive does not match its manifest "+
			"(%d bytes, the manifest says %d); run cairn backup verify %s",
			m.Name, n.n, m.Archive.Size, m.Name)
	}
	return nil
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
