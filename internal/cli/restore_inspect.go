package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-backup/cairn/internal/crypt"
	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/internal/restore"
)

// restoreReport is what restore create and describe print with -o.
type restoreReport struct {
	*restore.Record `json:",inline"`
	Outcomes        []restore.Outcome `json:"outcomes,omitempty"`
}

type restoreRef struct {
	location locationFlag
	out      outputFlag
	keys     keyFlags
}

func newRestoreListCommand(_ *globalOptions) *cobra.Command {
	return listCommand("List the restores recorded in a location",
		`  cairn restore list
  cairn restore list --location s3://my-bucket/cairn -o json`,
		"restores", "NAME\tBACKUP\tSTATUS\tAGE\tCREATED\tUPDATED\tSKIPPED\tFAILED\tDRY RUN",
		restore.List, func(r *restore.Record) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%t", r.Name, r.Backup,
				r.Phase, age(r.StartTime), r.Counts.Created, r.Counts.Updated, r.Counts.Skipped,
				r.Counts.Failed, r.Spec.DryRun)
		})
}

type restoreDescribeOptions struct {
	restoreRef
	details bool
}

func newRestoreDescribeCommand(_ *globalOptions) *cobra.Command {
	o := &restoreDescribeOptions{}
	cmd := &cobra.Command{
		Use:   "describe NAME",
		Short: "Show a restore: its spec, counts and problems",
		Example: `  cairn restore describe shop-1-20261204101500
  cairn restore describe shop-copy --details   # every object's outcome
  cairn restore describe shop-copy -o json`,
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
	o.keys.bindIdentities(cmd)
	cmd.Flags().BoolVar(&o.details, "details", false, "list every object's outcome")
	return cmd
}

func (o *restoreDescribeOptions) run(ctx context.Context, w io.Writer, name string) error {
	loc, err := o.location.open(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = loc.Close() }()
	rec, err := restore.Get(ctx, loc, name)
	if err != nil {
		return err
	}
	keys, err := o.keys.load()
	if err != nil {
		return err
	}
	src := outcomeSource{loc: loc, rec: rec, keys: keys}
	if o.out.structured() {
		return src.print(ctx, w, o.out, o.details)
	}
	fmt.Fprintf(w, "Name:        %s\n", rec.Name)
	fmt.Fprintf(w, "Backup:      %s\n", rec.Backup)
	fmt.Fprintf(w, "Phase:       %s\n", rec.Phase)
	fmt.Fprintf(w, "Dry run:     %t\n", rec.Spec.DryRun)
	fmt.Fprintf(w, "Cluster:     %s\n", rec.Cluster)
	fmt.Fprintf(w, "Started:     %s\n", rec.StartTime.Format(time.RFC3339))
	fmt.Fprintf(w, "Duration:    %s\n", rec.EndTime.Sub(rec.StartTime))
	fmt.Fprintf(w, "Policy:      %s\n", rec.Spec.ExistingResourcePolicy)
	if len(rec.Spec.NamespaceMappings) > 0 {
		fmt.Fprintf(w, "Namespaces:  %s\n", mappings(rec.Spec.NamespaceMappings))
	}
	fmt.Fprintf(w, "Objects:     %s\n", countsLine(rec))
	printProblems(w, rec.Warnings, "Warnings")
	printProblems(w, rec.Errors, "Errors")
	if o.details {
		return src.table(ctx, w)
	}
	return nil
}

func mappings(m map[string]string) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+" -> "+v)
	}
	return strings.Join(parts, ", ")
}

func countsLine(rec *restore.Record) string {
	c := rec.Counts
	verb := []string{"created", "updated"}
	if rec.Spec.DryRun {
		verb = []string{"to create", "to update"}
	}
	line := fmt.Sprintf("%d %s, %d %s, %d skipped, %d failed (of %d)",
		c.Created, verb[0], c.Updated, verb[1], c.Skipped, c.Failed, max(rec.Selected, c.Total))
	if c.Unchecked > 0 {
		line += fmt.Sprintf("; %d not checked by the server, since their namespace or CRD "+
			"does not exist yet", c.Unchecked)
	}
	return line
}

// outcomeSource reads the outcomes of a stored restore.
type outcomeSource struct {
	loc  *location.Location
	rec  *restore.Record
	keys crypt.Keys
}

// table prints one line per object: what was, or would be, done.
func (s outcomeSource) table(ctx context.Context, w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tOBJECT\tDETAIL")
	err := restore.EachOutcome(ctx, s.loc, s.rec, s.keys, func(o restore.Outcome) error {
		detail := o.Reason
		if len(o.Fields) > 0 {
			detail = strings.TrimPrefix(detail+"; fields: "+strings.Join(o.Fields, ", "), "; ")
		}
		_, err := fmt.Fprintf(tw, "%s\t%s\t%s\n", actionWord(o.Action, s.rec.Spec.DryRun),
			o.Object, detail)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

// print writes the record, with its outcomes when asked, as JSON or YAML.
// JSON streams the outcomes, so that a restore of many objects prints in
// little memory.
func (s outcomeSource) print(ctx context.Context, w io.Writer, out outputFlag,
	withOutcomes bool) error {
	if out.format != "json" || !withOutcomes {
		report := restoreReport{Record: s.rec}
		if withOutcomes {
			var err error
			if report.Outcomes, err = restore.Outcomes(ctx, s.loc, s.rec, s.keys); err != nil {
				return err
			}
		}
		return out.print(w, report)
	}
	head, err := json.MarshalIndent(s.rec, "", "  ")
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.Write(bytes.TrimSuffix(head, []byte("\n}")))
	bw.WriteString(",\n  \"outcomes\": [")
	first := true
	err = restore.EachOutcome(ctx, s.loc, s.rec, s.keys, func(o restore.Outcome) error {
		line, err := json.Marshal(o)
		if err != nil {
			return err
		}
		if !first {
			bw.WriteByte(',')
		}
		first = false
		bw.WriteString("\n    ")
		_, err = bw.Write(line)
		return err
	})
	if err != nil {
		return err
	}
	bw.WriteString("\n  ]\n}\n")
	return bw.Flush()
}

func actionWord(a restore.Action, dryRun bool) string {
	if dryRun {
		if a == restore.ActionFail {
			return "error"
		}
		return string(a)
	}
	switch a {
	case restore.ActionCreate:
		return "created"
	case restore.ActionUpdate:
		return "updated"
	case restore.ActionSkip:
		return "skipped"
	}
	return "failed"
}

func newRestoreLogsCommand(_ *globalOptions) *cobra.Command {
	o := &restoreRef{}
	cmd := &cobra.Command{
		Use:   "logs NAME",
		Short: "Print the log of a restore",
		Example: `  cairn restore logs shop-copy
  cairn restore logs shop-copy | jq 'select(.level == "ERROR")'`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			loc, err := o.location.open(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = loc.Close() }()
			rec, err := restore.Get(ctx, loc, args[0])
			if err != nil {
				return err
			}
			keys, err := o.keys.load()
			if err != nil {
				return err
			}
			rc, err := restore.Open(ctx, loc, rec, rec.LogKey, keys)
			if err != nil {
				return err
			}
			defer func() { _ = rc.Close() }()
			_, err = io.Copy(cmd.OutOrStdout(), rc)
			return err
		},
	}
	o.location.bind(cmd)
	o.keys.bindIdentities(cmd)
	return cmd
}
