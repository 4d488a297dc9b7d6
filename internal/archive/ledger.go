package archive

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxIndexLine bounds one line of index.jsonl: a path of MaxPathLen bytes
// appears twice in it, escaped, which this leaves ample room for.
const maxIndexLine = 64 << 10

// record is what a reader keeps of one object entry until the index, which
// comes last, can be checked against it.
type record struct {
	path     string
	size     int64
	sum      [sha256.Size]byte
	deleting bool
	// unparsed is set when the data could not be read as a JSON object, so
	// deleting is unknown.
	unparsed bool
	indexed  bool
}

// ledger checks the index against the object entries. It holds one record
// per object, so its memory grows with the number of objects but not with
// their data.
type ledger struct {
	records []record
	byPath  map[string]int
	absent  map[string]bool // index paths without an object entry
	lastPos int
	report  func(Defect)
}

func newLedger(report func(Defect)) *ledger {
	return &ledger{
		byPath: make(map[string]int),
		absent: make(map[string]bool),
		report: report,
	}
}

// object records an object entry.
func (l *ledger) object(r record) {
	if _, dup := l.byPath[r.path]; dup {
		l.report(Defect{Path: r.path, Kind: DefectDuplicate, Detail: "second entry for this path"})
		return
	}
	l.byPath[r.path] = len(l.records)
	l.records = append(l.records, r)
}

// entry checks one index line against the objects recorded.
func (l *ledger) entry(line int, e IndexEntry) {
	if err := e.check(); err != nil {
		l.report(Defect{Path: IndexEntryName, Kind: DefectBadIndex,
			Detail: fmt.Sprintf("line %d: %v", line, err)})
		return
	}
	pos, ok := l.byPath[e.Path]
	if !ok {
		if l.absent[e.Path] {
			l.report(Defect{Path: e.Path, Kind: DefectDuplicate,
				Detail: fmt.Sprintf("listed again on index line %d", line)})
			return
		}
		l.absent[e.Path] = true
		l.report(Defect{Path: e.Path, Kind: DefectMissing,
			Detail: fmt.Sprintf("index line %d lists it, the archive has no entry", line)})
		return
	}

	r := &l.records[pos]
	if r.indexed {
		l.report(Defect{Path: e.Path, Kind: DefectDuplicate,
			Detail: fmt.Sprintf("listed again on index line %d", line)})
		return
	}
	r.indexed = true
	if pos < l.lastPos {
		l.report(Defect{Path: e.Path, Kind: DefectOrder, Detail: fmt.Sprintf(
			"index line %d lists it after %s, which comes later in the archive",
			line, l.records[l.lastPos].path)})
	}
	l.lastPos = max(l.lastPos, pos)
	l.compare(r, e)
}

func (l *ledger) compare(r *record, e IndexEntry) {
	if r.size != e.Size {
		l.report(Defect{Path: r.path, Kind: DefectSize,
			Detail: fmt.Sprintf("%d bytes, the index says %d", r.size, e.Size)})
	} else if got := hex.EncodeToString(r.sum[:]); got != e.SHA256 {
		l.report(Defect{Path: r.path, Kind: DefectChecksum,
			Detail: fmt.Sprintf("content has sha256 %s, the index says %s", got, e.SHA256)})
	}
	if !r.unparsed && r.deleting != e.Deleting {
		l.report(Defect{Path: r.path, Kind: DefectDeleting, Detail: fmt.Sprintf(
			"deletionTimestamp set is %t, the index says deleting %t", r.deleting, e.Deleting)})
	}
}

// end reports the object entries that no index line listed.
func (l *ledger) end() {
	for _, r := range l.records {
		if !r.indexed {
			l.report(Defect{Path: r.path, Kind: DefectNotIndexed,
				Detail: "the index does not list it"})
		}
	}
}

// readIndex reads index.jsonl from r, passing each line, decoded, to fn
// with its line number. Malformed lines are reported and skipped. It
// returns the index's SHA-256, or a Defect if the stream fails.
func readIndex(s *stream, r io.Reader, report func(Defect),
	fn func(int, IndexEntry)) (string, error) {
	h := sha256.New()
	sc := bufio.NewScanner(io.TeeReader(r, h))
	sc.Buffer(make([]byte, 0, 4096), maxIndexLine)

	line := 0
	for sc.Scan() {
		line++
		var e IndexEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			report(Defect{Path: IndexEntryName, Kind: DefectBadIndex,
				Detail: fmt.Sprintf("line %d: not an index entry: %v", line, err)})
			continue
		}
		fn(line, e)
	}

	switch err := sc.Err(); {
	case errors.Is(err, bufio.ErrTooLong):
		report(Defect{Path: IndexEntryName, Kind: DefectBadIndex, Detail: fmt.Sprintf(
			"line %d is longer than %d bytes; the rest is unread", line+1, maxIndexLine)})
	case err != nil:
		return "", s.fail(err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
