package cli

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cairn-backup/cairn/internal/backup"
	"github.com/cairn-backup/cairn/internal/server"
	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

// serverBackupOptions are the flags `cairn backup create` takes to go
// through an installed server instead of running the engine itself.
type serverBackupOptions struct {
	global    *globalOptions
	enabled   bool
	namespace string
	wait      bool
	poll      time.Duration
}

// addServerMode gives `cairn backup create` the --server flag: the command
// then creates a Backup resource for the cairn server and follows it,
// instead of backing up from this machine. The selection flags keep their
// meaning; --backup-location names a BackupLocation of the server.
func addServerMode(root *cobra.Command, g *globalOptions) {
	cmd, _, err := root.Find([]string{"backup", "create"})
	if err != nil || cmd == root {
		return
	}
	o := &serverBackupOptions{global: g, poll: time.Second}
	f := cmd.Flags()
	f.BoolVar(&o.enabled, "server", false, "create a Backup resource for the cairn server "+
		"and follow it")
	f.StringVar(&o.namespace, "server-namespace", server.DefaultNamespace,
		"with --server: namespace of the cairn server")
	f.BoolVar(&o.wait, "wait", true, "with --server: follow the backup until it ends")
	f.String("backup-location", "",
		"with --server: BackupLocation to write to (default: the default one)")
	f.Duration("ttl", 0, "with --server: delete the backup this long after it ends")
	f.Duration("timeout", 0, "with --server: fail the backup when it takes longer")
	cmd.Example += `

  # Through the cairn server in the cluster, to its default BackupLocation
  cairn backup create shop-3 --include-namespaces shop --server --ttl 720h`

	local := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if !o.enabled {
			for _, name := range []string{"backup-location", "ttl", "timeout", "wait",
				"server-namespace"} {
				if cmd.Flags().Lookup(name).Changed {
					return usageErrorf("--%s needs --server", name)
				}
			}
			return local(cmd, args)
		}
		if len(args) != 1 {
			return usageErrorf("%s takes NAME; see --help", cmd.CommandPath())
		}
		return o.run(cmd, args[0])
	}
}

func (o *serverBackupOptions) run(cmd *cobra.Command, name string) error {
	ctx, w := cmd.Context(), cmd.OutOrStdout()
	if err := backup.ValidateName(name); err != nil {
		return usageErrorf("%v", err)
	}
	var out outputFlag
	out.format, _ = cmd.Flags().GetString("output")
	if err := out.validate(); err != nil {
		return err
	}
	for _, local := range []string{"location", "recipient", "recipient-file", "workers"} {
		if fl := cmd.Flags().Lookup(local); fl != nil && fl.Changed {
			return usageErrorf("--%s does not apply with --server: the server's "+
				"BackupLocation (--backup-location) decides", local)
		}
	}
	tmpl, err := templateFrom(cmd.Flags())
	if err != nil {
		return err
	}
	sf := serverFlags{namespace: o.namespace}
	c, err := sf.client(o.global)
	if err != nil {
		return err
	}

	b := &v1alpha1.Backup{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Backup"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: o.namespace},
		Spec:       v1alpha1.BackupSpec{BackupTemplate: tmpl},
	}
	err = c.Create(ctx, b)
	switch {
	case apierrors.IsAlreadyExists(err):
		return usageErrorf("Backup %s/%s already exists", o.namespace, name)
	case apierrors.IsInvalid(err):
		return usageErrorf("%v", err)
	case err != nil:
		return fmt.Errorf("create Backup %s/%s: %w", o.namespace, name, err)
	}
	b.APIVersion, b.Kind = v1alpha1.GroupVersion.String(), "Backup"
	if !o.wait {
		if out.structured() {
			return out.print(w, b)
		}
		fmt.Fprintf(w, "Backup %s/%s created; follow it with kubectl get backup -n %s %s\n",
			o.namespace, name, o.namespace, name)
		return nil
	}

	b, err = o.follow(ctx, c, b)
	if err != nil {
		return err
	}
	if out.structured() {
		if err := out.print(w, b); err != nil {
			return err
		}
	} else {
		printServerBackup(w, b)
	}
	if b.Status.Phase != v1alpha1.PhaseCompleted {
		return fmt.Errorf("backup %s ended %s", name, b.Status.Phase)
	}
	return nil
}

// follow polls a Backup until it ends, showing its progress. Stopping the
// command stops only the following; the backup goes on in the server.
func (o *serverBackupOptions) follow(ctx context.Context, c client.Client,
	b *v1alpha1.Backup) (*v1alpha1.Backup, error) {
	var mu sync.Mutex
	cur := b.DeepCopy()
	display := startProgress("backing up "+b.Name+" in the server", func() string {
		mu.Lock()
		defer mu.Unlock()
		return serverProgress(cur)
	})
	defer display.Stop()

	t := time.NewTicker(o.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stopped following backup %s; it goes on in the server: %w",
				b.Name, context.Cause(ctx))
		case <-t.C:
		}
		var got v1alpha1.Backup
		err := c.Get(ctx, client.ObjectKeyFromObject(b), &got)
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("backup %s: the resource was deleted", b.Name)
		}
		if err != nil {
			continue // a passing API error; the next poll tries again
		}
		mu.Lock()
		cur = got.DeepCopy()
		mu.Unlock()
		if got.Status.Phase.Terminal() {
			return &got, nil
		}
	}
}

func serverProgress(b *v1alpha1.Backup) string {
	p := b.Status.Progress
	if p == nil {
		return orDash(string(b.Status.Phase))
	}
	return fmt.Sprintf("%s, %d/%d types, %d objects, %s", b.Status.Phase, p.ItemsDone,
		p.ItemsTotal, p.Objects, humanBytes(p.Bytes))
}

func printServerBackup(w io.Writer, b *v1alpha1.Backup) {
	st := b.Status
	var objects, bytes int64
	if st.Progress != nil {
		objects, bytes = st.Progress.Objects, st.Progress.Bytes
	}
	fmt.Fprintf(w, "Backup %s %s: %d objects, %s in BackupLocation %s\n", b.Name, st.Phase,
		objects, humanBytes(bytes), orDash(st.Location))
	if st.FailureReason != "" {
		fmt.Fprintf(w, "Reason: %s\n", st.FailureReason)
	}
	if st.Warnings > 0 || st.Errors > 0 {
		fmt.Fprintf(w, "%d warnings, %d errors; see kubectl describe backup -n %s %s\n",
			st.Warnings, st.Errors, b.Namespace, b.Name)
	}
}
