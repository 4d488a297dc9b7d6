package archive

import (
	"fmt"
	"strings"
)

// maxUIDLen bounds Manifest.UID, which appears in the archive's key.
const maxUIDLen = 64

// Validate checks a manifest: a known format version, the required fields,
// values from their allowed sets, and totals that agree with each other.
// A Failed backup need not record an archive, cluster or revision. The
// error wraps ErrUnsupportedVersion or ErrInvalidManifest and lists every
// problem found.
func (m *Manifest) Validate() error {
	switch {
	case m.FormatVersion == 0:
		return fmt.Errorf("%w: formatVersion is missing", ErrInvalidManifest)
	case m.FormatVersion != FormatVersion:
		return fmt.Errorf("%w: manifest format version %d; this cairn reads version %d only",
			ErrUnsupportedVersion, m.FormatVersion, FormatVersion)
	}

	var v validation
	v.checkIdentity(m)
	v.checkSpec(&m.Spec)
	if m.Phase != PhaseFailed {
		v.checkOutcome(m)
	}
	v.checkTypes(m)
	v.checkProblems("warnings", m.Warnings)
	v.checkProblems("errors", m.Errors)

	if len(v) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidManifest, strings.Join(v, "; "))
	}
	return nil
}

// validation collects what is wrong with a manifest.
type validation []string

func (v *validation) addf(format string, args ...any) {
	*v = append(*v, fmt.Sprintf(format, args...))
}

func (v *validation) require(field, value string) {
	if value == "" {
		v.addf("%s is missing", field)
	}
}

func (v *validation) checkIdentity(m *Manifest) {
	if err := checkSegment(m.Name); err != nil {
		v.addf("name %q %v", m.Name, err)
	}
	if !isUID(m.UID) {
		v.addf("uid %q is not 1 to %d letters, digits and dashes", m.UID, maxUIDLen)
	}

	switch m.Phase {
	case PhaseCompleted:
		if len(m.Errors) > 0 {
			v.addf("phase is Completed but %d errors are recorded", len(m.Errors))
		}
	case PhasePartiallyFailed:
		if len(m.Errors) == 0 {
			v.addf("phase is PartiallyFailed but no errors are recorded")
		}
	case PhaseFailed:
	case "":
		v.addf("phase is missing")
	default:
		v.addf("phase %q is not Completed, PartiallyFailed or Failed", m.Phase)
	}

	switch {
	case m.StartTime.IsZero():
		v.addf("startTime is missing")
	case m.EndTime.IsZero():
		v.addf("endTime is missing")
	case m.EndTime.Before(m.StartTime):
		v.addf("endTime %s is before startTime %s", m.EndTime, m.StartTime)
	}
}

func (v *validation) checkSpec(s *Spec) {
	switch s.IncludeClusterResources {
	case ClusterResourcesAuto, ClusterResourcesTrue, ClusterResourcesFalse:
	default:
		v.addf("spec.includeClusterResources %q is not auto, true or false",
			s.IncludeClusterResources)
	}
}

// checkOutcome checks what a backup that produced an archive must record.
func (v *validation) checkOutcome(m *Manifest) {
	v.require("cluster.server", m.Cluster.Server)
	v.require("cluster.uid", m.Cluster.UID)
	v.require("cluster.kubernetesVersion", m.Cluster.KubernetesVersion)
	v.require("resourceVersion", m.ResourceVersion)

	v.require("archive.key", m.Archive.Key)
	if m.Archive.Size <= 0 {
		v.addf("archive.size %d is not positive", m.Archive.Size)
	}
	v.checkDigest("archive.sha256", m.Archive.SHA256)
	if m.Archive.Compression != CompressionZstd {
		v.addf("archive.compression %q is not %q", m.Archive.Compression, CompressionZstd)
	}

	v.checkDigest("index.sha256", m.Index.SHA256)
	if m.Index.Objects != m.Totals.Objects {
		v.addf("index.objects %d differs from totals.objects %d",
			m.Index.Objects, m.Totals.Objects)
	}
}

func (v *validation) checkDigest(field, value string) {
	if len(value) != 64 || !isLowerHex(value) {
		v.addf("%s %q is not 64 lowercase hex digits", field, value)
	}
}

func (v *validation) checkTypes(m *Manifest) {
	sum := 0
	for i, t := range m.Types {
		field := fmt.Sprintf("types[%d]", i)
		v.require(field+".version", t.Version)
		v.require(field+".resource", t.Resource)
		v.require(field+".kind", t.Kind)
		if t.Count < 0 {
			v.addf("%s.count %d is negative", field, t.Count)
		}
		switch t.Consistency {
		case ConsistencySnapshot, ConsistencyLive, ConsistencyFresh:
		default:
			v.addf("%s.consistency %q is not snapshot, live or fresh", field, t.Consistency)
		}
		sum += t.Count
	}
	if m.Totals.Objects < 0 || m.Totals.Bytes < 0 {
		v.addf("totals are negative")
	}
	if sum != m.Totals.Objects {
		v.addf("types count %d objects, totals.objects says %d", sum, m.Totals.Objects)
	}
}

func (v *validation) checkProblems(field string, ps []Problem) {
	for i, p := range ps {
		name := fmt.Sprintf("%s[%d]", field, i)
		v.require(name+".action", p.Action)
		v.require(name+".reason", p.Reason)
	}
}

func isUID(s string) bool {
	if s == "" || len(s) > maxUIDLen {
		return false
	}
	for _, c := range s {
		ok := c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !ok {
			return false
		}
	}
	return true
}
