package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/crypt"
	"github.com/cairn-backup/cairn/internal/location"
)

// VerifyReport is the outcome of checking a stored backup against its
// manifest.
type VerifyReport struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Problems says exactly what is wrong, one finding per line.
	Problems []string `json:"problems,omitempty"`
	// Objects is the number of objects read from the archive.
	Objects int `json:"objects"`
	// StoredSize and StoredSHA256 describe the bytes in the location.
	StoredSize   int64  `json:"storedSize"`
	StoredSHA256 string `json:"storedSHA256"`
}

// Verify re-reads a backup's archive and checks the chain of digests that
// makes it tamper-evident: the stored bytes against the manifest's size and
// SHA-256; the index against the manifest's index digest and count; every
// object against its index line. Encrypted archives are decrypted with the
// keys on the way; an encrypted backup cannot be verified without its key.
// An error means the check could not run; a failed check is a report that
// is not OK.
func Verify(ctx context.Context, loc *location.Location, m *archive.Manifest,
	keys crypt.Keys) (*VerifyReport, error) {
	rc, err := OpenArchive(ctx, loc, m)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rc.Close() }()
	digest := &countingHash{h: sha256.New()}
	stored := io.TeeReader(rc, digest)
	plain, err := decrypt(stored, m, keys)
	if errors.Is(err, crypt.ErrWrongKey) {
		// A damaged header fails as a stranger's key does; the stored
		// bytes tell the two apart.
		if _, cerr := io.Copy(io.Discard, stored); cerr == nil &&
			(digest.n != m.Archive.Size || hex.EncodeToString(digest.h.Sum(nil)) != m.Archive.SHA256) {
			return &VerifyReport{Name: m.Name, StoredSize: digest.n,
				StoredSHA256: hex.EncodeToString(digest.h.Sum(nil)),
				Problems: []string{fmt.Sprintf("stored archive does not match the manifest "+
					"(%d bytes, SHA-256 %s; the manifest says %d bytes, %s), so it cannot "+
					"be decrypted", digest.n, hex.EncodeToString(digest.h.Sum(nil)),
					m.Archive.Size, m.Archive.SHA256)}}, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", m.Name, err)
	}

	rep := &VerifyReport{Name: m.Name}
	problem := func(format string, args ...any) {
		rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
	}
	ar, err := archive.Verify(plain)
	for _, d := range ar.Defects {
		problem("%s", d.Error())
	}
	if ar.MoreDefects > 0 {
		problem("%d more defects in the archive", ar.MoreDefects)
	}
	if err != nil && len(ar.Defects) == 0 {
		problem("archive: %v", err)
	}
	// Read what the archive reader left, so the digest covers every byte.
	if _, err := io.Copy(io.Discard, stored); err != nil {
		problem("read the stored archive: %v", err)
	}
	rep.Objects = ar.Objects
	rep.StoredSize = digest.n
	rep.StoredSHA256 = hex.EncodeToString(digest.h.Sum(nil))

	if rep.StoredSize != m.Archive.Size {
		problem("stored archive is %d bytes, the manifest says %d", rep.StoredSize, m.Archive.Size)
	}
	if rep.StoredSHA256 != m.Archive.SHA256 {
		problem("stored archive SHA-256 is %s, the manifest says %s", rep.StoredSHA256, m.Archive.SHA256)
	}
	if ar.IndexSHA256 != "" && ar.IndexSHA256 != m.Index.SHA256 {
		problem("index SHA-256 is %s, the manifest says %s", ar.IndexSHA256, m.Index.SHA256)
	}
	if ar.Objects != m.Index.Objects {
		problem("archive holds %d objects, the manifest says %d", ar.Objects, m.Index.Objects)
	}
	rep.OK = len(rep.Problems) == 0
	return rep, nil
}
