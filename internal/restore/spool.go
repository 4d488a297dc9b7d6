package restore

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/backup"
)

// Tiers, in the order they are written; see the package documentation.
const (
	tierCRDs = iota
	tierNamespaces
	tierClusterPrereqs
	tierPVs
	tierPVCs
	tierConfig
	tierNetwork
	tierWorkloads
	tierRest
	tierLate
	tierCount
)

var tierNames = [tierCount]string{
	"custom resource definitions", "namespaces", "cluster-scoped objects",
	"persistent volumes", "persistent volume claims", "configuration and RBAC",
	"services and endpoints", "workloads", "other namespaced objects",
	"webhooks and API services",
}

// tierOf maps group resources to their tier; unlisted namespaced types go
// to tierRest and unlisted cluster-scoped ones to tierClusterPrereqs.
var tierOf = map[string]int{
	"customresourcedefinitions.apiextensions.k8s.io": tierCRDs,
	"namespaces":                             tierNamespaces,
	"persistentvolumes":                      tierPVs,
	"persistentvolumeclaims":                 tierPVCs,
	"serviceaccounts":                        tierConfig,
	"secrets":                                tierConfig,
	"configmaps":                             tierConfig,
	"limitranges":                            tierConfig,
	"resourcequotas":                         tierConfig,
	"roles.rbac.authorization.k8s.io":        tierConfig,
	"rolebindings.rbac.authorization.k8s.io": tierConfig,
	"services":                               tierNetwork,
	"endpoints":                              tierNetwork,
	"endpointslices.discovery.k8s.io":        tierNetwork,
	"pods":                                   tierWorkloads,
	"replicationcontrollers":                 tierWorkloads,
	"replicasets.apps":                       tierWorkloads,
	"deployments.apps":                       tierWorkloads,
	"statefulsets.apps":                      tierWorkloads,
	"daemonsets.apps":                        tierWorkloads,
	"jobs.batch":                             tierWorkloads,
	"cronjobs.batch":                         tierWorkloads,
	"mutatingwebhookconfigurations.admissionregistration.k8s.io":   tierLate,
	"validatingwebhookconfigurations.admissionregistration.k8s.io": tierLate,
	"apiservices.apiregistration.k8s.io":                           tierLate,
}

func tierFor(ref archive.ObjectRef) int {
	if t, ok := tierOf[groupResource(ref.Group, ref.Resource)]; ok {
		return t
	}
	if ref.Namespace == "" {
		return tierClusterPrereqs
	}
	return tierRest
}

func groupResource(group, resource string) string {
	if group == "" {
		return resource
	}
	return resource + "." + group
}

// entry is one spooled object.
type entry struct {
	Ref  archive.ObjectRef
	Data []byte
}

// spoolFile holds entries in a temporary file: a length-prefixed reference
// and a length-prefixed object, one after the other.
type spoolFile struct {
	f     *os.File
	w     *bufio.Writer
	count int
}

func newSpoolFile(dir string) (*spoolFile, error) {
	f, err := os.CreateTemp(dir, "cairn-restore-spool-")
	if err != nil {
		return nil, err
	}
	return &spoolFile{f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

func (s *spoolFile) add(e entry) error {
	ref, err := json.Marshal(e.Ref)
	if err != nil {
		return err
	}
	var n [2 * binary.MaxVarintLen64]byte
	k := binary.PutUvarint(n[:], uint64(len(ref)))
	k += binary.PutUvarint(n[k:], uint64(len(e.Data)))
	for _, b := range [][]byte{n[:k], ref, e.Data} {
		if _, err := s.w.Write(b); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	s.count++
	return nil
}

// each calls fn for every entry in the order added.
func (s *spoolFile) each(fn func(entry) error) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(s.f, 256<<10)
	for {
		refLen, err := binary.ReadUvarint(r)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		dataLen, err := binary.ReadUvarint(r)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		buf := make([]byte, refLen+dataLen)
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		var e entry
		if err := json.Unmarshal(buf[:refLen], &e.Ref); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		e.Data = buf[refLen:]
		if err := fn(e); err != nil {
			return err
		}
	}
}

func (s *spoolFile) remove() {
	_ = s.f.Close()
	_ = os.Remove(s.f.Name())
}

// spool is the selected content of the backup, by tier, and what the
// restore must know across objects.
type spool struct {
	tiers [tierCount]*spoolFile
	// restored holds the uid of every selected object, so that owner
	// references can be followed to objects of this restore.
	restored uidSet
	// selectorServices holds "namespace/name" of Services with a selector,
	// whose Endpoints the control plane makes.
	selectorServices map[string]bool
	// crds holds the names of the CRDs restored.
	crds map[string]bool
}

func (s *spool) remove() {
	for _, f := range s.tiers {
		if f != nil {
			f.remove()
		}
	}
}

// read reads the backup through and spools what the restore selects.
// Cluster-scoped objects are held back until every namespaced object has
// been seen, since auto mode takes only those they depend on.
func (r *run) read(ctx context.Context) error {
	resources, discErr := r.req.Cluster.Resources(ctx)
	if resources == nil && discErr != nil {
		return discErr
	}
	sel, err := newSelector(r.req.Spec, r.manifest, resources)
	if err != nil {
		return err
	}
	r.sel = sel
	r.types, err = newTypeMap(ctx, r.req.Cluster)
	if err != nil {
		return err
	}
	sp := &spool{restored: uidSet{}, selectorServices: map[string]bool{},
		crds: map[string]bool{}}
	r.spool = sp
	for i := range sp.tiers {
		if sp.tiers[i], err = newSpoolFile(r.req.TempDir); err != nil {
			return err
		}
	}
	held, err := newSpoolFile(r.req.TempDir)
	if err != nil {
		return err
	}
	defer held.remove()

	ar, closer, err := backup.Open(ctx, r.req.Location, r.manifest, r.req.Keys)
	if err != nil {
		return err
	}
	defer func() { _ = closer.Close() }()
	for {
		obj, err := ar.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !r.req.Force {
			return fmt.Errorf("read backup %s: %w", r.manifest.Name, err)
		}
		if err != nil {
			r.warn(archive.Problem{Action: "read", Reason: err.Error()})
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		e := entry{Ref: obj.Ref, Data: obj.Data}
		if obj.Ref.Namespace == "" {
			if err := held.add(e); err != nil {
				return err
			}
			continue
		}
		if err := r.take(sp, e, sel.namespaced(e)); err != nil {
			return err
		}
	}
	if err := held.each(func(e entry) error {
		return r.take(sp, e, sel.clusterScoped(e))
	}); err != nil {
		return err
	}
	if unknown := sel.unknownNamespaces(); len(unknown) > 0 {
		reason := fmt.Sprintf("the backup holds no namespace %s; check the spelling "+
			"(cairn backup describe %s lists what it holds)",
			strings.Join(unknown, ", "), r.manifest.Name)
		r.log.Warn(reason)
		r.warn(archive.Problem{Action: "select", Reason: reason})
	}
	return nil
}

// take spools a selected entry into its tier and notes what others need.
func (r *run) take(sp *spool, e entry, meta *objectMeta) error {
	if meta == nil {
		return nil
	}
	if meta.UID != "" {
		sp.restored.add(meta.UID)
	}
	if e.Ref.Group == "" && e.Ref.Resource == "services" && len(meta.ServiceSelector) > 0 {
		sp.selectorServices[e.Ref.Namespace+"/"+e.Ref.Name] = true
	}
	tier := tierFor(e.Ref)
	if tier == tierCRDs {
		sp.crds[e.Ref.Name] = true
	}
	if e.Ref.Group == "" && e.Ref.Resource == "secrets" && meta.Type == tokenSecretType {
		// after their ServiceAccounts: the token controller deletes a token
		// Secret whose ServiceAccount it cannot find
		tier = tierRest
	}
	r.req.Progress.Total.Add(1)
	return sp.tiers[tier].add(e)
}
