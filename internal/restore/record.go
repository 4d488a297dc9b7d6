package restore

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/crypt"
	"github.com/cairn-backup/cairn/internal/location"
)

// RecordVersion is the version of the record format this package writes.
const RecordVersion = 1

// maxProblems bounds the warnings and errors kept in a record; every
// object's outcome is in the outcomes file.
const maxProblems = 1000

const restoresPrefix = "restores/"

func keyPrefix(name string) string { return restoresPrefix + name + "/" }

// RecordKey is the key of a restore's record in its location.
func RecordKey(name string) string { return keyPrefix(name) + "record.json" }

func outcomesKey(name, uid string) string { return keyPrefix(name) + "outcomes-" + uid + ".jsonl" }
func logKey(name, uid string) string      { return keyPrefix(name) + "log-" + uid + ".jsonl" }

// ErrNotFound is returned for a restore that is not in the location.
var ErrNotFound = errors.New("no such restore")

// Phase is how a restore ended.
type Phase string

// Phases of a restore.
const (
	PhaseCompleted       Phase = "Completed"
	PhasePartiallyFailed Phase = "PartiallyFailed"
	PhaseFailed          Phase = "Failed"
)

// Action is what a restore did, or in a dry run would do, with one object.
type Action string

// Actions.
const (
	ActionCreate Action = "create"
	ActionUpdate Action = "update"
	ActionSkip   Action = "skip"
	ActionFail   Action = "fail"
)

// Outcome is what happened to one object of the backup.
type Outcome struct {
	// Object is the object in the target cluster: mapped namespace, and
	// the name the server gave it.
	Object archive.ObjectRef `json:"object"`
	Action Action            `json:"action"`
	// Reason says why an object was skipped or failed, or adds a note.
	Reason string `json:"reason,omitempty"`
	// Fields are the fields in which an existing object differs from the
	// backup, or that an update could not change.
	Fields []string `json:"fields,omitempty"`
	// Unchecked marks a dry-run outcome the server could not judge: the
	// object's namespace or CRD would be created by the restore first.
	Unchecked bool `json:"unchecked,omitempty"`
}

// Counts sums outcomes by action.
type Counts struct {
	Total   int `json:"total"`
	Created int `json:"created"`
	Updated int `json:"updated"`
	Skipped int `json:"skipped"`
	Failed  int `json:"failed"`
	// Unchecked counts dry-run outcomes the server could not judge.
	Unchecked int `json:"unchecked,omitempty"`
}

func (c *Counts) add(o Outcome) {
	a := o.Action
	c.Total++
	if o.Unchecked {
		c.Unchecked++
	}
	switch a {
	case ActionCreate:
		c.Created++
	case ActionUpdate:
		c.Updated++
	case ActionSkip:
		c.Skipped++
	case ActionFail:
		c.Failed++
	}
}

// Record describes a finished restore. It is stored as restores/<name>/
// record.json, written once; its outcomes and log are stored beside it,
// encrypted when the restore had keys to encrypt with.
type Record struct {
	FormatVersion int       `json:"formatVersion"`
	Name          string    `json:"name"`
	UID           string    `json:"uid"`
	Backup        string    `json:"backup"`
	BackupUID     string    `json:"backupUID"`
	Spec          Spec      `json:"spec"`
	Cluster       string    `json:"cluster"`
	Phase         Phase     `json:"phase"`
	StartTime     time.Time `json:"startTime"`
	EndTime       time.Time `json:"endTime"`
	// Selected is the number of objects of the backup the restore took.
	Selected int    `json:"selected"`
	Counts   Counts `json:"counts"`
	// Warnings and Errors hold the first problems met, at most 1000 each.
	Warnings []archive.Problem `json:"warnings,omitempty"`
	Errors   []archive.Problem `json:"errors,omitempty"`
	// OutcomesKey and LogKey name the outcomes and log objects.
	OutcomesKey string `json:"outcomesKey"`
	LogKey      string `json:"logKey"`
	// Encryption is the scheme of the outcomes and log, "" for none.
	Encryption string `json:"encryption,omitempty"`

	// local holds the outcomes of a restore whose record is not stored.
	local []Outcome
}

// outcomeLog collects outcomes in a temporary file as they happen, so that
// memory does not grow with the number of objects.
type outcomeLog struct {
	mu     sync.Mutex
	f      *os.File
	w      *bufio.Writer
	enc    *json.Encoder
	counts Counts
	err    error
}

func newOutcomeLog(dir string) (*outcomeLog, error) {
	f, err := os.CreateTemp(dir, "cairn-restore-outcomes-")
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriter(f)
	return &outcomeLog{f: f, w: w, enc: json.NewEncoder(w)}, nil
}

func (l *outcomeLog) add(o Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts.add(o)
	if err := l.enc.Encode(o); err != nil && l.err == nil {
		l.err = err
	}
}

// keep reads the outcomes back into the record, for a record that is not
// stored.
func (l *outcomeLog) keep(rec *Record) error {
	if err := errors.Join(l.err, l.w.Flush()); err != nil {
		return fmt.Errorf("write outcomes: %w", err)
	}
	if _, err := l.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	rec.local = []Outcome{}
	dec := json.NewDecoder(l.f)
	for {
		var o Outcome
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("read outcomes: %w", err)
		}
		rec.local = append(rec.local, o)
	}
}

func (l *outcomeLog) remove() {
	_ = l.f.Close()
	_ = os.Remove(l.f.Name())
}

// upload stores the outcomes, encrypted when keys allow.
func (l *outcomeLog) upload(ctx context.Context, loc *location.Location, key string,
	keys crypt.Keys) error {
	if err := errors.Join(l.err, l.w.Flush()); err != nil {
		return fmt.Errorf("write outcomes: %w", err)
	}
	if _, err := l.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return uploadFile(ctx, loc, key, l.f, keys)
}

// uploadFile streams r to key, through encryption when keys encrypt.
func uploadFile(ctx context.Context, loc *location.Location, key string, r io.Reader,
	keys crypt.Keys) error {
	w, err := loc.NewWriter(ctx, key)
	if err != nil {
		return err
	}
	var sink io.WriteCloser = nopCloser{w}
	if keys.Encrypting() {
		if sink, err = keys.Encrypt(w); err != nil {
			w.Abort()
			return err
		}
	}
	if _, err := io.Copy(sink, r); err != nil {
		w.Abort()
		return err
	}
	if err := sink.Close(); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// finish stores outcomes, log and record, and returns the record.
func (r *run) finish(ctx context.Context) (*Record, error) {
	rec := r.record
	rec.EndTime = r.req.Clock().UTC().Truncate(time.Second)
	rec.Counts = r.outcomes.counts
	rec.Selected = int(r.req.Progress.Total.Load())
	rec.Phase = PhaseCompleted
	if rec.Counts.Failed > 0 || len(rec.Errors) > 0 {
		rec.Phase = PhasePartiallyFailed
	}
	if rec.Counts.Total > 0 && rec.Counts.Failed == rec.Counts.Total {
		rec.Phase = PhaseFailed
	}
	if err := ctx.Err(); err != nil {
		rec.Phase = PhaseFailed
		rec.Errors = append(rec.Errors, archive.Problem{Action: "restore",
			Reason: fmt.Sprintf("stopped: %v; %d of %d objects were not attempted", err,
				r.req.Progress.Total.Load()-int64(rec.Counts.Total), r.req.Progress.Total.Load())})
	}
	rec.Warnings = capProblems(rec.Warnings)
	rec.Errors = capProblems(rec.Errors)
	rec.OutcomesKey = outcomesKey(rec.Name, rec.UID)
	rec.LogKey = logKey(rec.Name, rec.UID)
	if r.req.Keys.Encrypting() {
		rec.Encryption = crypt.Scheme
	}
	r.log.Info("restore finished", "phase", rec.Phase, "created", rec.Counts.Created,
		"updated", rec.Counts.Updated, "skipped", rec.Counts.Skipped,
		"failed", rec.Counts.Failed)

	// The record may outlive a cancelled context: the cluster has changed
	// and the user needs to know how.
	ctx = context.WithoutCancel(ctx)
	loc := r.req.Location
	if loc.ReadOnly {
		// A restore from a read-only location (a migration from another
		// cluster's backups) keeps its record with the caller only.
		rec.Warnings = append(rec.Warnings, archive.Problem{Action: "record",
			Reason: "the location is read-only: the record of this restore is not stored"})
		rec.OutcomesKey, rec.LogKey, rec.Encryption = "", "", ""
		return rec, r.outcomes.keep(rec)
	}
	if err := r.outcomes.upload(ctx, loc, rec.OutcomesKey, r.req.Keys); err != nil {
		return rec, err
	}
	if _, err := r.logFile.Seek(0, io.SeekStart); err != nil {
		return rec, err
	}
	if err := uploadFile(ctx, loc, rec.LogKey, r.logFile, r.req.Keys); err != nil {
		return rec, err
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return rec, err
	}
	if err := loc.PutIfAbsent(ctx, RecordKey(rec.Name), append(data, '\n')); err != nil {
		return rec, fmt.Errorf("store the restore record: %w", err)
	}
	return rec, nil
}

func capProblems(ps []archive.Problem) []archive.Problem {
	if len(ps) <= maxProblems {
		return ps
	}
	more := len(ps) - maxProblems
	ps = ps[:maxProblems]
	return append(ps, archive.Problem{Action: "record",
		Reason: fmt.Sprintf("%d more problems; see the outcomes", more)})
}

// Get reads a restore's record.
func Get(ctx context.Context, loc *location.Location, name string) (*Record, error) {
	data, err := loc.Get(ctx, RecordKey(name))
	if errors.Is(err, location.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s in %s", ErrNotFound, name, loc.URL)
	}
	if err != nil {
		return nil, err
	}
	var rec Record
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("restore %s: record: %w", name, err)
	}
	return &rec, nil
}

// List returns the records of a location, oldest first. Folders without a
// record (a restore running, or something else's files) are left out;
// unreadable records are returned as errors beside the others.
func List(ctx context.Context, loc *location.Location) ([]*Record, error) {
	dirs, err := loc.List(ctx, restoresPrefix, "/")
	if err != nil {
		return nil, err
	}
	var out []*Record
	var errs []error
	for _, dir := range dirs {
		name := strings.TrimSuffix(strings.TrimPrefix(dir, restoresPrefix), "/")
		if !strings.HasSuffix(dir, "/") || validation.IsDNS1123Subdomain(name) != nil {
			continue
		}
		rec, err := Get(ctx, loc, name)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, rec)
	}
	slices.SortFunc(out, func(a, b *Record) int {
		if c := a.StartTime.Compare(b.StartTime); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, errors.Join(errs...)
}

// Open returns a reader of a stored outcomes or log object of the record,
// decrypted with keys when it is encrypted.
func Open(ctx context.Context, loc *location.Location, rec *Record, key string,
	keys crypt.Keys) (io.ReadCloser, error) {
	rc, err := loc.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	if rec.Encryption == "" {
		return rc, nil
	}
	plain, err := keys.Decrypt(rc)
	if err != nil {
		_ = rc.Close()
		return nil, err
	}
	return readCloser{plain, rc}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// Outcomes reads a restore's outcomes.
func Outcomes(ctx context.Context, loc *location.Location, rec *Record,
	keys crypt.Keys) ([]Outcome, error) {
	var out []Outcome
	err := EachOutcome(ctx, loc, rec, keys, func(o Outcome) error {
		out = append(out, o)
		return nil
	})
	return out, err
}

// EachOutcome calls fn for every outcome of a restore, in the order they
// were recorded, without holding them all in memory.
func EachOutcome(ctx context.Context, loc *location.Location, rec *Record, keys crypt.Keys,
	fn func(Outcome) error) error {
	if rec.local != nil {
		for _, o := range rec.local {
			if err := fn(o); err != nil {
				return err
			}
		}
		return nil
	}
	rc, err := Open(ctx, loc, rec, rec.OutcomesKey, keys)
	if err != nil {
		return err
	}
	defer func() { _ = rc.Close() }()
	dec := json.NewDecoder(rc)
	for {
		var o Outcome
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("restore %s: outcomes: %w", rec.Name, err)
		}
		if err := fn(o); err != nil {
			return err
		}
	}
}
