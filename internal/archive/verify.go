package archive

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// Verify reads a whole archive and checks it: the format entry, every
// object's size, SHA-256 and deletion flag against the index, entries
// missing from either side, duplicates, order, and the zstd and tar
// framing. It goes on past defects where the stream allows, so the Report
// lists every one it can see; a truncated or undecodable stream ends the
// walk.
//
// The error is nil exactly when the Report has no defects; otherwise it
// wraps the first Defect. Memory holds one object's data at a time and one
// small record per object.
func Verify(r io.Reader) (Report, error) {
	var rep Report
	s, err := openStream(r)
	if err != nil {
		var d Defect
		if !errors.As(err, &d) {
			return rep, fmt.Errorf("verify archive: %w", err)
		}
		rep.add(d)
		return rep, rep.err()
	}
	defer s.close()

	rep.FormatVersion = s.version
	v := &verifier{s: s, rep: &rep, ledger: newLedger(rep.add)}
	v.run()
	return rep, rep.err()
}

// err summarizes the report as an error wrapping its first defect.
func (r *Report) err() error {
	n := len(r.Defects) + r.MoreDefects
	switch n {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("verify archive: %w", r.Defects[0])
	}
	return fmt.Errorf("verify archive: %d defects, the first: %w", n, r.Defects[0])
}

type verifier struct {
	s      *stream
	rep    *Report
	ledger *ledger
	buf    bytes.Buffer // one object's data, reused
}

func (v *verifier) run() {
	indexSeen := false
	for {
		hdr, err := v.s.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			v.stop(err)
			return
		}

		switch {
		case indexSeen:
			v.rep.add(Defect{Path: hdr.Name, Kind: DefectUnexpectedEntry,
				Detail: "entry after the index"})
		case hdr.Name == IndexEntryName && isRegular(hdr):
			indexSeen = true
			if err := v.index(); err != nil {
				v.stop(err)
				return
			}
		default:
			if err := v.object(hdr); err != nil {
				v.stop(err)
				return
			}
		}
	}

	if indexSeen {
		v.ledger.end()
	} else {
		v.rep.add(Defect{Kind: DefectNoIndex,
			Detail: "the tar stream ends without " + IndexEntryName})
	}
	if err := v.s.finish(); err != nil {
		v.stop(err)
	}
}

// stop records the error that ended the walk.
func (v *verifier) stop(err error) {
	var d Defect
	if !errors.As(err, &d) {
		d = Defect{Kind: DefectCorrupt, Detail: err.Error()}
	}
	v.rep.add(d)
}

// object checks one object entry. Defects of the entry are reported; the
// error is for failures of the stream.
func (v *verifier) object(hdr *tar.Header) error {
	if _, err := parsePath(hdr.Name); err != nil {
		v.rep.add(Defect{Path: hdr.Name, Kind: DefectUnexpectedEntry, Detail: err.Error()})
		return nil
	}
	if !isRegular(hdr) {
		v.rep.add(Defect{Path: hdr.Name, Kind: DefectUnexpectedEntry,
			Detail: fmt.Sprintf("tar type %q is not a regular file", hdr.Typeflag)})
		return nil
	}

	rec := record{path: hdr.Name, size: hdr.Size}
	if hdr.Size > MaxObjectSize {
		// Hash it without holding it, so that the index can still be
		// compared.
		h := sha256.New()
		if _, err := io.Copy(h, v.s.tr); err != nil {
			return v.s.fail(err)
		}
		h.Sum(rec.sum[:0])
		rec.unparsed = true
		v.rep.add(Defect{Path: hdr.Name, Kind: DefectBadObject,
			Detail: fmt.Sprintf("%d bytes, more than %d", hdr.Size, MaxObjectSize)})
	} else {
		v.buf.Reset()
		if _, err := io.Copy(&v.buf, v.s.tr); err != nil {
			return v.s.fail(err)
		}
		rec.sum = sha256.Sum256(v.buf.Bytes())
		deleting, err := objectDeleting(v.buf.Bytes())
		if err != nil {
			rec.unparsed = true
			v.rep.add(Defect{Path: hdr.Name, Kind: DefectBadObject, Detail: err.Error()})
		}
		rec.deleting = deleting
	}

	v.ledger.object(rec)
	v.rep.Objects++
	v.rep.Bytes += hdr.Size
	return nil
}

func (v *verifier) index() error {
	sum, err := readIndex(v.s, v.s.tr, v.rep.add, func(line int, e IndexEntry) {
		v.rep.IndexEntries++
		v.ledger.entry(line, e)
	})
	v.rep.IndexSHA256 = sum
	return err
}
