package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/location"
)

type locationCheckOptions struct {
	out    outputFlag
	sizeMB int
}

func newLocationCheckCommand(_ *globalOptions) *cobra.Command {
	o := &locationCheckOptions{}
	cmd := &cobra.Command{
		Use:   "check [NAME|URL]",
		Short: "Check that a location answers and measure its speed",
		Long: `Check a location as backups use it: list its keys (reachability and
credentials), stream an object of random bytes into it (upload MB/s), read
it back and compare its SHA-256 (download MB/s), and delete it. The probe
object is written under cairn-check/ with a random name. A read-only
location is only listed. Without an argument, the default location is
checked. A folder that does not exist fails the check, as it fails every
command that reads a location, so that a mistyped or unmounted path is not
taken for an empty location: cairn location add creates the folder of the
location it adds. Only the built-in default folder, used when no location
is configured, is created when first used.

Exits 0 when every step passed, 1 otherwise. The figures are those of one
stream, as one backup archive is written; several backups at once may
reach more.`,
		Example: `  cairn location check prod
  cairn location check 's3://backups/cairn?region=eu-west-1' --size-mb 64 -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			ref := ""
			if len(args) == 1 {
				ref = args[0]
			}
			return o.run(cmd.Context(), cmd.OutOrStdout(), ref)
		},
	}
	o.out.bind(cmd)
	cmd.Flags().IntVar(&o.sizeMB, "size-mb", 16,
		"size of the probe object in MB (10^6 bytes); larger gives steadier figures")
	return cmd
}

func (o *locationCheckOptions) validate() error {
	if err := o.out.validate(); err != nil {
		return err
	}
	if o.sizeMB < 1 || o.sizeMB > 10000 {
		return usageErrorf("--size-mb %d: must be 1 to 10000", o.sizeMB)
	}
	return nil
}

func (o *locationCheckOptions) run(ctx context.Context, w io.Writer, ref string) error {
	lf := locationFlag{ref: ref}
	loc, err := lf.open(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = loc.Close() }()

	rep, err := loc.Check(ctx, int64(o.sizeMB)*1e6)
	if err != nil {
		return err
	}
	if o.out.structured() {
		if err := o.out.print(w, rep); err != nil {
			return err
		}
	} else if err := printCheck(w, rep); err != nil {
		return err
	}
	if !rep.OK {
		return fmt.Errorf("location %s failed its check", rep.URL)
	}
	return nil
}

func printCheck(w io.Writer, rep *location.CheckReport) error {
	fmt.Fprintf(w, "Location %s", rep.URL)
	if rep.ReadOnly {
		fmt.Fprint(w, " (read-only)")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  STEP\tRESULT\tSECONDS\tDETAIL")
	for _, s := range rep.Steps {
		result, detail := "ok", ""
		switch {
		case s.Skipped:
			result, detail = "skipped", "read-only"
		case !s.OK:
			result, detail = "FAILED", s.Error
		case s.Name == location.StepWrite:
			detail = fmt.Sprintf("%.1f MB/s", rep.UploadMBps)
		case s.Name == location.StepRead:
			detail = fmt.Sprintf("%.1f MB/s", rep.DownloadMBps)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%.2f\t%s\n", s.Name, result, s.Seconds, detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rep.ProbeBytes > 0 && rep.OK {
		fmt.Fprintf(w, "Upload %.1f MB/s, download %.1f MB/s (one stream of %.0f MB)\n",
			rep.UploadMBps, rep.DownloadMBps, float64(rep.ProbeBytes)/1e6)
	}
	return nil
}
